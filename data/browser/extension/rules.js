/* rules.js — the decisions of the Sluice browser extension, as pure functions.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * No browser API is touched here, so the same file runs in Chromium's service worker
 * (importScripts), in Firefox's background page (manifest "scripts"), in the options page and
 * under plain Node for the unit tests (module.exports).
 */
'use strict';

(function (root) {
  /* Settings live in storage.local under these keys; anything else found there is ignored. */
  const DEFAULT_SETTINGS = Object.freeze({
    enabled: true,
    minSizeBytes: 0,
    excludedSites: Object.freeze([]),
    fileTypes: Object.freeze([]),
    allowPrivate: false,
  });
  const SETTINGS_KEYS = Object.freeze(Object.keys(DEFAULT_SETTINGS));

  /* A POST seen this long before a download of the same address marks that download as POST. */
  const POST_RECORD_TTL_MS = 10 * 60 * 1000;

  /* Native-messaging frames are at most 1 MiB; a batch of links stays well below that. */
  const MAX_BATCH_BYTES = 512 * 1024;

  function parseHttpUrl (text) {
    if (typeof text !== 'string' || text === '') {
      return null;
    }
    let url;
    try {
      url = new URL(text);
    } catch (e) {
      return null;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return null;
    }
    return url;
  }

  function isHttpUrl (text) {
    return parseHttpUrl(text) !== null;
  }

  /* The address without its #fragment, which a server never sees (Firefox keeps it in
   * DownloadItem.referrer). Empty for anything that is not http(s). */
  function stripFragment (text) {
    const url = parseHttpUrl(text);
    if (url === null) {
      return '';
    }
    url.hash = '';
    return url.href;
  }

  const cleanReferrer = stripFragment;

  /* Firefox reports the absolute target path, Chromium a path relative to the download folder:
   * only the last part is a name. */
  function baseName (path) {
    if (typeof path !== 'string') {
      return '';
    }
    const parts = path.split(/[/\\]/);
    return parts[parts.length - 1];
  }

  /* The name to judge a file type by: the browser's name, else the last part of the address. */
  function nameOf (filename, urlText) {
    const name = baseName(filename);
    if (name !== '') {
      return name;
    }
    const url = parseHttpUrl(urlText);
    if (url === null) {
      return '';
    }
    const last = baseName(url.pathname);
    try {
      return decodeURIComponent(last);
    } catch (e) {
      return last;
    }
  }

  /* Chromium reports an unknown length as 0 (or -1), Firefox as -1: only a positive length is
   * a known one. */
  function knownSize (item) {
    for (const value of [item && item.totalBytes, item && item.fileSize]) {
      if (Number.isSafeInteger(value) && value > 0) {
        return value;
      }
    }
    return null;
  }

  /* "Example.COM", ".example.com", "https://example.com:8080/x" → "example.com";
   * "*.example.com" stays a wildcard for subdomains only. Empty when nothing usable is left. */
  function normalizeHostPattern (text) {
    if (typeof text !== 'string') {
      return '';
    }
    let pattern = text.trim().toLowerCase();
    if (pattern === '') {
      return '';
    }
    if (pattern.includes('://')) {
      try {
        pattern = new URL(pattern).hostname;
      } catch (e) {
        return '';
      }
    } else {
      pattern = pattern.replace(/[/?#].*$/, '');
      pattern = pattern.startsWith('[')
        ? pattern.replace(/^(\[[^\]]*\]).*$/, '$1')
        : pattern.replace(/:\d*$/, '');
    }
    let wildcard = false;
    if (pattern.startsWith('*.')) {
      wildcard = true;
      pattern = pattern.slice(2);
    } else if (pattern.startsWith('.')) {
      pattern = pattern.slice(1);
    }
    pattern = pattern.replace(/\.$/, '');
    if (pattern === '' || /[\s*]/.test(pattern)) {
      return '';
    }
    return wildcard ? '*.' + pattern : pattern;
  }

  /* "example.com" covers the host and its subdomains, "*.example.com" only the subdomains. */
  function hostMatches (host, pattern) {
    const p = normalizeHostPattern(pattern);
    if (typeof host !== 'string' || p === '') {
      return false;
    }
    const h = host.toLowerCase().replace(/\.$/, '');
    if (p.startsWith('*.')) {
      return h.endsWith(p.slice(1));
    }
    return h === p || h.endsWith('.' + p);
  }

  /* A site is excluded when the download's own host or the host of the page it came from
   * matches one of the patterns. */
  function isExcludedSite (urlTexts, patterns) {
    if (!Array.isArray(patterns) || patterns.length === 0) {
      return false;
    }
    for (const text of urlTexts) {
      const url = parseHttpUrl(text);
      if (url !== null && patterns.some((p) => hostMatches(url.hostname, p))) {
        return true;
      }
    }
    return false;
  }

  /* "*.ZIP", ".zip", " zip " → "zip"; "tar.gz" keeps its inner dot. */
  function normalizeFileType (text) {
    if (typeof text !== 'string') {
      return '';
    }
    const type = text.trim().toLowerCase().replace(/^\*?\.+/, '');
    return /^[^\s/\\*.][^\s/\\*]*$/.test(type) ? type : '';
  }

  /* An empty list means every type. */
  function matchesFileTypes (name, types) {
    if (!Array.isArray(types) || types.length === 0) {
      return true;
    }
    const lower = (name || '').toLowerCase();
    return types.some((t) => {
      const type = normalizeFileType(t);
      return type !== '' && lower.length > type.length + 1 && lower.endsWith('.' + type);
    });
  }

  function uniqueNonEmpty (values) {
    return [...new Set(values.filter((v) => v !== ''))];
  }

  /* Splits the text of a settings field ("zip, iso  mp4" or one pattern per line). */
  function splitList (text) {
    return typeof text === 'string' ? text.split(/[\s,;]+/).filter((s) => s !== '') : [];
  }

  /* Stored settings from storage.local (possibly missing, from an older version, or edited
   * by hand) → complete, typed settings. */
  function normalizeSettings (raw) {
    const src = raw !== null && typeof raw === 'object' ? raw : {};
    const list = (value) => (Array.isArray(value) ? value : splitList(value));
    const min = Number(src.minSizeBytes);
    return {
      enabled: typeof src.enabled === 'boolean' ? src.enabled : DEFAULT_SETTINGS.enabled,
      minSizeBytes: Number.isFinite(min) && min > 0 ? Math.floor(min) : 0,
      excludedSites: uniqueNonEmpty(list(src.excludedSites).map(normalizeHostPattern)),
      fileTypes: uniqueNonEmpty(list(src.fileTypes).map(normalizeFileType)),
      allowPrivate: typeof src.allowPrivate === 'boolean'
        ? src.allowPrivate : DEFAULT_SETTINGS.allowPrivate,
    };
  }

  /* Whether a download the browser started should be handed to Sluice.
   *
   * item: a downloads.DownloadItem (url, finalUrl in Chromium, referrer, filename, incognito,
   *       mime, totalBytes, fileSize, state, byExtensionId).
   * context.isPost: the request was seen going out with another method than GET (neither
   *       browser puts the method in DownloadItem; background.js watches webRequest).
   * context.siteAccess: the extension may read this site's cookies (host permission).
   *
   * Returns { take: boolean, reason: string }; reason names the first rule that said no. */
  function decideDownload (item, settings, context) {
    const s = normalizeSettings(settings);
    const ctx = context || {};
    if (!s.enabled) {
      return { take: false, reason: 'disabled' };
    }
    if (!item || !isHttpUrl(item.url) ||
        (item.finalUrl !== undefined && item.finalUrl !== '' && !isHttpUrl(item.finalUrl))) {
      return { take: false, reason: 'not-http' };
    }
    if (item.state !== undefined && item.state !== 'in_progress') {
      return { take: false, reason: 'not-in-progress' };
    }
    if (item.byExtensionId) {
      return { take: false, reason: 'extension' };
    }
    if (ctx.isPost) {
      return { take: false, reason: 'post' };
    }
    if (item.incognito && !s.allowPrivate) {
      return { take: false, reason: 'private' };
    }
    const size = knownSize(item);
    if (size !== null && size < s.minSizeBytes) {
      return { take: false, reason: 'too-small' };
    }
    if (isExcludedSite([item.url, item.finalUrl, item.referrer], s.excludedSites)) {
      return { take: false, reason: 'excluded-site' };
    }
    if (!matchesFileTypes(nameOf(item.filename, item.finalUrl || item.url), s.fileTypes)) {
      return { take: false, reason: 'file-type' };
    }
    if (ctx.siteAccess === false) {
      return { take: false, reason: 'no-site-access' };
    }
    return { take: true, reason: '' };
  }

  /* Whether a cookie partitioned under topLevelSite ("https://example.com") belongs to one of
   * the pages of this request. Without the public-suffix list a site is matched as a host
   * suffix with the same scheme. */
  function siteMatches (siteText, urlTexts) {
    const site = parseHttpUrl(siteText);
    if (site === null) {
      return false;
    }
    return urlTexts.some((text) => {
      const url = parseHttpUrl(text);
      return url !== null && url.protocol === site.protocol &&
             (url.hostname === site.hostname || url.hostname.endsWith('.' + site.hostname));
    });
  }

  /* The value of one Cookie header from cookies.getAll() results.
   *
   * Unpartitioned cookies always go; a partitioned one (CHIPS, Firefox's state partitioning)
   * only when its top-level site is the site of the download or of the page it came from, and
   * a first-party-isolated one (Firefox) only when its first-party domain is. Ordered as
   * browsers send them: longer paths first, otherwise as given. */
  function buildCookieHeader (cookies, pageUrls) {
    if (!Array.isArray(cookies)) {
      return '';
    }
    const pages = (pageUrls || []).filter(isHttpUrl);
    const hosts = pages.map((p) => new URL(p).hostname);
    const seen = new Set();
    const kept = [];
    cookies.forEach((c, index) => {
      if (!c || typeof c.name !== 'string' || typeof c.value !== 'string') {
        return;
      }
      const site = c.partitionKey && c.partitionKey.topLevelSite;
      if (site && !siteMatches(site, pages)) {
        return;
      }
      const fpd = c.firstPartyDomain;
      if (fpd && !hosts.some((h) => h === fpd || h.endsWith('.' + fpd))) {
        return;
      }
      const key = JSON.stringify([c.name, c.domain, c.path, site || '', fpd || '']);
      if (seen.has(key)) {
        return;
      }
      seen.add(key);
      kept.push({ c, index });
    });
    kept.sort((a, b) => ((b.c.path || '').length - (a.c.path || '').length) || (a.index - b.index));
    return kept.map(({ c }) => (c.name === '' ? c.value : c.name + '=' + c.value)).join('; ');
  }

  /* Chromium has no cookie store id in DownloadItem: the incognito store is the one that is
   * not the default "0" (or holds the tab, when a tab is known). Undefined means the default
   * store of the extension, the regular profile. */
  function pickChromiumCookieStore (stores, { incognito, tabId } = {}) {
    if (!Array.isArray(stores)) {
      return undefined;
    }
    if (tabId !== undefined && tabId !== null) {
      const holder = stores.find((s) => Array.isArray(s.tabIds) && s.tabIds.includes(tabId));
      if (holder) {
        return holder.id;
      }
    }
    if (incognito) {
      const store = stores.find((s) => s.incognito === true) || stores.find((s) => s.id !== '0');
      return store ? store.id : undefined;
    }
    return undefined;
  }

  /* The match pattern that permissions.contains() is asked about; ports are left out
   * because Firefox's match patterns have none (and Chromium's then match every port). */
  function matchPatternFor (urlText) {
    const url = parseHttpUrl(urlText);
    return url === null ? '' : url.protocol + '//' + url.hostname + '/*';
  }

  /* One message for the native host, as the host protocol (version 1) defines it. Fields
   * the browser did not know are left out rather than sent empty. */
  function buildDownloadMessage (fields) {
    const msg = { v: 1, type: 'download', url: fields.url };
    for (const key of ['referrer', 'cookies', 'userAgent', 'filename', 'mime']) {
      if (typeof fields[key] === 'string' && fields[key] !== '') {
        msg[key] = fields[key];
      }
    }
    if (Number.isSafeInteger(fields.size) && fields.size > 0) {
      msg.size = fields.size;
    }
    if (Array.isArray(fields.urls) && fields.urls.length > 0) {
      msg.urls = fields.urls.slice();
    }
    return msg;
  }

  /* The http(s) links of a page worth handing over: each once, without #fragments, not the
   * page itself, and of the selected file types when the user restricted them. */
  function filterLinks (hrefs, { pageUrl, fileTypes } = {}) {
    const page = stripFragment(pageUrl);
    const out = [];
    const seen = new Set();
    for (const href of Array.isArray(hrefs) ? hrefs : []) {
      const url = stripFragment(href);
      if (url === '' || url === page || seen.has(url)) {
        continue;
      }
      if (!matchesFileTypes(nameOf('', url), fileTypes)) {
        continue;
      }
      seen.add(url);
      out.push(url);
    }
    return out;
  }

  /* Links are sent per origin, so that one Cookie header fits every address of a message,
   * and in batches that keep a message far below the 1 MiB frame limit. */
  function batchLinks (urls, maxBytes = MAX_BATCH_BYTES) {
    const byOrigin = new Map();
    for (const text of urls) {
      const url = parseHttpUrl(text);
      if (url === null) {
        continue;
      }
      if (!byOrigin.has(url.origin)) {
        byOrigin.set(url.origin, []);
      }
      byOrigin.get(url.origin).push(url.href);
    }
    const batches = [];
    for (const group of byOrigin.values()) {
      let batch = [];
      let bytes = 0;
      for (const url of group) {
        const cost = JSON.stringify(url).length + 1;
        if (batch.length > 0 && bytes + cost > maxBytes) {
          batches.push(batch);
          batch = [];
          bytes = 0;
        }
        batch.push(url);
        bytes += cost;
      }
      if (batch.length > 0) {
        batches.push(batch);
      }
    }
    return batches;
  }

  /* The record of recent non-GET requests (address → time), kept in storage.session so that it
   * outlives a service worker that was stopped between the request and its download. */
  function recordRequest (records, { url, method }, now) {
    const key = stripFragment(url);
    const next = pruneRequests(records, now);
    if (key === '') {
      return next;
    }
    if (typeof method === 'string' && method.toUpperCase() !== 'GET') {
      next[key] = now;
    } else {
      delete next[key];
    }
    return next;
  }

  function pruneRequests (records, now, ttl = POST_RECORD_TTL_MS) {
    const next = {};
    if (records !== null && typeof records === 'object') {
      for (const [url, time] of Object.entries(records)) {
        if (Number.isFinite(time) && now - time >= 0 && now - time < ttl) {
          next[url] = time;
        }
      }
    }
    return next;
  }

  function wasPosted (records, urlTexts, now, ttl = POST_RECORD_TTL_MS) {
    const live = pruneRequests(records, now, ttl);
    return urlTexts.some((text) => {
      const key = stripFragment(text);
      return key !== '' && Object.prototype.hasOwnProperty.call(live, key);
    });
  }

  /* What the toolbar button shows: "off" wins over an error, an error over nothing. */
  function badgeState ({ enabled, error }) {
    if (!enabled) {
      return { kind: 'off', text: 'off', color: '#77767b' };
    }
    if (typeof error === 'string' && error !== '') {
      return { kind: 'error', text: '!', color: '#c01c28' };
    }
    return { kind: 'on', text: '', color: '#3584e4' };
  }

  /* A host reply is a success only when it says so. */
  function replyError (reply) {
    if (reply === null || typeof reply !== 'object') {
      return 'no-reply';
    }
    if (reply.ok === true) {
      return '';
    }
    return typeof reply.error === 'string' && reply.error !== '' ? reply.error : 'refused';
  }

  const SluiceRules = Object.freeze({
    DEFAULT_SETTINGS,
    SETTINGS_KEYS,
    POST_RECORD_TTL_MS,
    MAX_BATCH_BYTES,
    parseHttpUrl,
    isHttpUrl,
    stripFragment,
    cleanReferrer,
    baseName,
    nameOf,
    knownSize,
    normalizeHostPattern,
    hostMatches,
    isExcludedSite,
    normalizeFileType,
    matchesFileTypes,
    splitList,
    normalizeSettings,
    decideDownload,
    siteMatches,
    buildCookieHeader,
    pickChromiumCookieStore,
    matchPatternFor,
    buildDownloadMessage,
    filterLinks,
    batchLinks,
    recordRequest,
    pruneRequests,
    wasPosted,
    badgeState,
    replyError,
  });

  root.SluiceRules = SluiceRules;
  if (typeof module === 'object' && module !== null && module.exports) {
    module.exports = SluiceRules;
  }
})(typeof globalThis !== 'undefined' ? globalThis : this);
