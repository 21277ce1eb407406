/* background.js — hands the browser's downloads to Sluice through its native-messaging host.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One file for both browsers: Chromium runs it as the extension service worker
 * (background.service_worker), Firefox as an event page after rules.js (background.scripts).
 * Every listener is added synchronously at the top level, so that an event wakes the worker
 * or page and reaches it; nothing that must survive a stopped worker lives only in memory.
 */
'use strict';

if (typeof globalThis.SluiceRules === 'undefined' && typeof importScripts === 'function') {
  importScripts('rules.js');
}

const Rules = globalThis.SluiceRules;
/* Firefox has `browser`; Chromium's `chrome` returns promises as well in Manifest V3. */
const api = globalThis.browser ?? globalThis.chrome;

const HOST_NAME = 'org.sluice.browser_host';
const IS_FIREFOX = typeof api.runtime.getBrowserInfo === 'function';
/* Chromium only: holding a download in filename determination keeps it from completing (and
 * from opening a save dialog) until the host has answered. */
const HAS_DETERMINING_FILENAME = Boolean(api.downloads.onDeterminingFilename);

const MENU_DOWNLOAD = 'sluice-download';
const MENU_DOWNLOAD_ALL = 'sluice-download-all';

/* storage.session keys (state, not settings): the last hand-off error shown on the badge, and
 * recent non-GET requests. Without storage.session they are kept in memory. */
const ERROR_KEY = 'lastError';
const REQUESTS_KEY = 'recentRequests';
const memorySession = {};
/* Writes of the request record, one after the other (see onBeforeRequest). */
let requestsQueue = Promise.resolve();
/* Page and frame requests seen lately, whatever their method (address → time), and downloads
 * waiting for the request of their address: the browser may tell of a download before it has
 * delivered the webRequest event of the request that made it (Firefox does). */
const seenRequests = new Map();
const requestWaiters = new Map();
const SEEN_REQUESTS_MAX = 256;
/* How long a download waits for the request of its address. Downloads that come from no page
 * or frame request (a link's "Save as", <a download>) wait this long, then go on as GET. */
const REQUEST_WAIT_MS = 1500;

function t (key, substitutions) {
  return api.i18n.getMessage(key, substitutions) || key;
}

function errorText (error) {
  if (error && typeof error.message === 'string' && error.message !== '') {
    return error.message;
  }
  return String(error);
}

async function sessionGet (key) {
  if (api.storage.session) {
    const items = await api.storage.session.get(key);
    return items[key];
  }
  return memorySession[key];
}

async function sessionSet (key, value) {
  if (api.storage.session) {
    await api.storage.session.set({ [key]: value });
  } else {
    memorySession[key] = value;
  }
}

async function loadSettings () {
  const stored = await api.storage.local.get(Rules.SETTINGS_KEYS);
  return Rules.normalizeSettings(stored);
}

/* ---- The toolbar button ---- */

async function refreshBadge () {
  const [settings, error] = await Promise.all([loadSettings(), sessionGet(ERROR_KEY)]);
  const state = Rules.badgeState({ enabled: settings.enabled, error });
  let title = t('actionTitleOn');
  if (state.kind === 'off') {
    title = t('actionTitleOff');
  } else if (state.kind === 'error') {
    title = t('actionTitleError', [error]);
  }
  await Promise.all([
    api.action.setBadgeText({ text: state.kind === 'off' ? t('badgeOff') : state.text }),
    api.action.setBadgeBackgroundColor({ color: state.color }),
    api.action.setTitle({ title }),
  ]);
}

async function showError (message) {
  await sessionSet(ERROR_KEY, message);
  await refreshBadge();
}

async function clearError () {
  if (await sessionGet(ERROR_KEY)) {
    await sessionSet(ERROR_KEY, '');
    await refreshBadge();
  }
}

async function toggleEnabled () {
  const settings = await loadSettings();
  await api.storage.local.set({ enabled: !settings.enabled });
  /* storage.onChanged redraws the badge. */
}

/* ---- Talking to the native host ---- */

/* One message, one host process: nothing keeps a port (and so the worker) alive. Resolves to
 * the reply when the host said ok, rejects with a message fit for the badge otherwise. */
async function sendToHost (message) {
  let reply;
  try {
    reply = await api.runtime.sendNativeMessage(HOST_NAME, message);
  } catch (error) {
    /* No host installed, a host that crashed or spoke garbage. */
    throw new Error(errorText(error));
  }
  const problem = Rules.replyError(reply);
  if (problem === 'no-reply') {
    throw new Error(t('errorNoReply'));
  }
  if (problem === 'refused') {
    throw new Error(t('errorRefused'));
  }
  if (problem !== '') {
    throw new Error(problem);
  }
  return reply;
}

/* ---- Cookies ---- */

async function chromiumStoreId ({ incognito, tabId }) {
  if (!incognito) {
    return undefined;
  }
  const stores = await api.cookies.getAllCookieStores();
  return Rules.pickChromiumCookieStore(stores, { incognito, tabId });
}

function storeIdForDownload (item) {
  /* Firefox names the store (containers, private browsing) in the download itself. */
  if (IS_FIREFOX) {
    return Promise.resolve(item.cookieStoreId);
  }
  return chromiumStoreId({ incognito: item.incognito });
}

function storeIdForTab (tab) {
  if (IS_FIREFOX) {
    return Promise.resolve(tab && tab.cookieStoreId);
  }
  return chromiumStoreId({ incognito: Boolean(tab && tab.incognito), tabId: tab && tab.id });
}

/* The Cookie header the browser would send for url from this store, partitioned cookies of the
 * download's or the page's site included. Empty when the extension may not read them. */
async function cookieHeaderFor (url, { storeId, referrer }) {
  const details = { url, partitionKey: {} };
  if (storeId) {
    details.storeId = storeId;
  }
  if (IS_FIREFOX) {
    /* Required when first-party isolation is on; null means every first-party domain, which
     * buildCookieHeader narrows to the pages of this download. */
    details.firstPartyDomain = null;
  }
  let cookies = [];
  try {
    cookies = await api.cookies.getAll(details);
  } catch (error) {
    delete details.partitionKey;
    try {
      cookies = await api.cookies.getAll(details);
    } catch (e) {
      console.warn('Sluice: cannot read cookies for', url, errorText(e));
    }
  }
  return Rules.buildCookieHeader(cookies, [url, referrer]);
}

/* ---- Downloads the browser started ---- */

function requestSeen (keys) {
  const now = Date.now();
  return keys.some((key) => now - (seenRequests.get(key) ?? -Infinity) < Rules.POST_RECORD_TTL_MS);
}

/* Resolves once a page or frame request to one of the addresses has been seen, or after ms. */
function waitForRequest (keys, ms) {
  if (keys.length === 0 || requestSeen(keys)) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const key of keys) {
        const rest = (requestWaiters.get(key) || []).filter((waiter) => waiter !== done);
        if (rest.length > 0) {
          requestWaiters.set(key, rest);
        } else {
          requestWaiters.delete(key);
        }
      }
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const key of new Set(keys)) {
      requestWaiters.set(key, [...(requestWaiters.get(key) || []), done]);
    }
  });
}

function noteRequest (url) {
  const key = Rules.stripFragment(url);
  if (key === '') {
    return;
  }
  seenRequests.delete(key);
  seenRequests.set(key, Date.now());
  while (seenRequests.size > SEEN_REQUESTS_MAX) {
    seenRequests.delete(seenRequests.keys().next().value);
  }
  for (const done of requestWaiters.get(key) || []) {
    done();
  }
}

async function wasPosted (urls) {
  const keys = urls.map(Rules.stripFragment).filter((key) => key !== '');
  await waitForRequest(keys, REQUEST_WAIT_MS);
  await requestsQueue; /* a request's record is written before its download is judged */
  return Rules.wasPosted(await sessionGet(REQUESTS_KEY), urls, Date.now());
}

async function hasSiteAccess (url) {
  const pattern = Rules.matchPatternFor(url);
  if (pattern === '') {
    return false;
  }
  try {
    return await api.permissions.contains({ origins: [pattern] });
  } catch (e) {
    return false;
  }
}

/* Cancels the browser's copy and removes it from its list; true when it is no longer running.
 * In Firefox a small file may have finished while the host was asked; its file is removed
 * then, as Sluice fetches its own. */
async function takeOver (id) {
  let [item] = await api.downloads.search({ id });
  if (item && item.state === 'in_progress') {
    try {
      await api.downloads.cancel(id);
    } catch (e) {
      console.warn('Sluice: cannot cancel download', id, errorText(e));
    }
    [item] = await api.downloads.search({ id });
  }
  if (item && item.state === 'complete' && item.exists !== false) {
    try {
      await api.downloads.removeFile(id);
    } catch (e) {
      console.warn('Sluice: cannot remove the finished copy of download', id, errorText(e));
    }
  }
  try {
    await api.downloads.erase({ id });
  } catch (e) {
    console.warn('Sluice: cannot erase download', id, errorText(e));
  }
  return !item || item.state !== 'in_progress';
}

/* Firefox creates the item before it knows the length; by now it may. Only the sizes are
 * taken from the fresh copy, so that a download that finished meanwhile is judged as it began. */
async function withKnownSize (item) {
  if (Rules.knownSize(item) !== null) {
    return item;
  }
  try {
    const [fresh] = await api.downloads.search({ id: item.id });
    return fresh ? { ...item, totalBytes: fresh.totalBytes, fileSize: fresh.fileSize } : item;
  } catch (e) {
    return item;
  }
}

/* Resolves to true when Sluice took the download and the browser's copy is gone. */
async function handleDownload (created) {
  const settings = await loadSettings();
  const item = await withKnownSize(created);
  const url = item.url;
  const [isPost, siteAccess] = await Promise.all([
    wasPosted([item.url, item.finalUrl]),
    hasSiteAccess(item.finalUrl || item.url),
  ]);
  const verdict = Rules.decideDownload(item, settings, { isPost, siteAccess });
  if (!verdict.take) {
    if (verdict.reason === 'no-site-access') {
      await showError(t('errorNoSiteAccess'));
    }
    return false;
  }
  const referrer = Rules.cleanReferrer(item.referrer);
  const message = Rules.buildDownloadMessage({
    url,
    referrer,
    cookies: await cookieHeaderFor(url, { storeId: await storeIdForDownload(item), referrer }),
    userAgent: navigator.userAgent,
    filename: Rules.baseName(item.filename),
    mime: item.mime,
    size: Rules.knownSize(item),
  });
  try {
    await sendToHost(message);
  } catch (error) {
    /* The browser's download goes on untouched. */
    await showError(errorText(error));
    return false;
  }
  const gone = await takeOver(item.id);
  await clearError();
  return gone;
}

function onDownloadCreated (item) {
  handleDownload(item).catch((e) => console.error('Sluice:', errorText(e)));
}

function onDeterminingFilename (item, suggest) {
  let suggested = false;
  const release = () => {
    if (!suggested) {
      suggested = true;
      try {
        suggest();
      } catch (e) {
        /* The download is gone already (cancelled after the hand-off). */
      }
    }
  };
  handleDownload(item)
    .then((taken) => {
      /* A cancelled download has no name left to suggest. */
      if (taken) {
        suggested = true;
      }
    })
    .catch((e) => console.error('Sluice:', errorText(e)))
    .finally(release);
  return true; /* suggest() is called asynchronously */
}

/* ---- Requests: neither browser tells a download's method, so POSTs are watched ---- */

function onBeforeRequest (details) {
  const method = details.method || 'GET';
  /* Serialised, so that two requests do not overwrite each other's record. */
  requestsQueue = requestsQueue.then(async () => {
    const records = await sessionGet(REQUESTS_KEY);
    const known = Rules.wasPosted(records, [details.url], Date.now());
    if (method.toUpperCase() !== 'GET' || known) {
      await sessionSet(REQUESTS_KEY,
        Rules.recordRequest(records, { url: details.url, method }, Date.now()));
    }
    /* The common case, a GET never posted to, writes nothing. */
  }).catch((e) => console.warn('Sluice: request record:', errorText(e)))
    .finally(() => noteRequest(details.url));
}

/* ---- Context menus ---- */

/* Firefox's removeAll() returns a promise; the callback form is the one every Chromium has. */
function removeAllMenus () {
  if (IS_FIREFOX) {
    return api.contextMenus.removeAll();
  }
  return new Promise((resolve) => api.contextMenus.removeAll(() => {
    void api.runtime.lastError;
    resolve();
  }));
}

/* Menu items outlive a stopped worker but not every restart: made anew at install and start. */
async function setUpMenus () {
  await removeAllMenus();
  const ignoreError = () => void api.runtime.lastError;
  api.contextMenus.create({
    id: MENU_DOWNLOAD,
    title: t('menuDownload'),
    contexts: ['link', 'image', 'video', 'audio', 'page'],
  }, ignoreError);
  api.contextMenus.create({
    id: MENU_DOWNLOAD_ALL,
    title: t('menuDownloadAll'),
    contexts: ['page'],
  }, ignoreError);
}

/* Runs in the page (scripting.executeScript): returns the absolute address of every link. */
function collectPageLinks () {
  return Array.from(document.querySelectorAll('a[href], area[href]'), (a) => a.href)
    .filter((href) => typeof href === 'string');
}

async function downloadFromMenu (info, tab) {
  const url = info.linkUrl || info.srcUrl || info.pageUrl;
  if (!Rules.isHttpUrl(url)) {
    throw new Error(t('errorNotHttp'));
  }
  const referrer = url === info.pageUrl ? '' : Rules.cleanReferrer(info.frameUrl || info.pageUrl);
  const message = Rules.buildDownloadMessage({
    url: Rules.stripFragment(url),
    referrer,
    cookies: await cookieHeaderFor(url, { storeId: await storeIdForTab(tab), referrer }),
    userAgent: navigator.userAgent,
  });
  await sendToHost(message);
}

async function downloadAllFromMenu (info, tab, settings) {
  const pageUrl = info.frameUrl || info.pageUrl;
  let results;
  try {
    results = await api.scripting.executeScript({
      target: { tabId: tab.id, frameIds: [info.frameId || 0] },
      func: collectPageLinks,
    });
  } catch (error) {
    throw new Error(t('errorLinks', [errorText(error)]));
  }
  const hrefs = (results && results[0] && results[0].result) || [];
  const urls = Rules.filterLinks(hrefs, { pageUrl, fileTypes: settings.fileTypes });
  if (urls.length === 0) {
    throw new Error(t('errorNoLinks'));
  }
  const referrer = Rules.cleanReferrer(pageUrl);
  const storeId = await storeIdForTab(tab);
  for (const batch of Rules.batchLinks(urls)) {
    const message = Rules.buildDownloadMessage({
      url: batch[0],
      urls: batch,
      referrer,
      cookies: await cookieHeaderFor(batch[0], { storeId, referrer }),
      userAgent: navigator.userAgent,
    });
    await sendToHost(message);
  }
}

async function onMenuClicked (info, tab) {
  try {
    const settings = await loadSettings();
    if (tab && tab.incognito && !settings.allowPrivate) {
      throw new Error(t('errorPrivate'));
    }
    if (info.menuItemId === MENU_DOWNLOAD) {
      await downloadFromMenu(info, tab);
    } else if (info.menuItemId === MENU_DOWNLOAD_ALL) {
      await downloadAllFromMenu(info, tab, settings);
    } else {
      return;
    }
    await clearError();
  } catch (error) {
    await showError(errorText(error));
  }
}

/* ---- Wiring ---- */

function logFailure (promise) {
  promise.catch((e) => console.error('Sluice:', errorText(e)));
}

/* The badge is the browser's state and survives a stopped worker; after an install or a
 * browser start it is drawn again from the settings. */
function onStart () {
  logFailure(setUpMenus());
  logFailure(refreshBadge());
}

function onActionClicked () {
  logFailure(toggleEnabled());
}

function onContextMenuClicked (info, tab) {
  logFailure(onMenuClicked(info, tab));
}

function onStorageChanged (changes, area) {
  if (area === 'local' && Rules.SETTINGS_KEYS.some((key) => key in changes)) {
    logFailure(refreshBadge());
  }
}

const LISTENERS = [
  [api.runtime.onInstalled, onStart],
  [api.runtime.onStartup, onStart],
  [api.action.onClicked, onActionClicked],
  [api.contextMenus.onClicked, onContextMenuClicked],
  [api.storage.onChanged, onStorageChanged],
  [api.webRequest.onBeforeRequest, onBeforeRequest,
    { urls: ['http://*/*', 'https://*/*'], types: ['main_frame', 'sub_frame'] }],
  HAS_DETERMINING_FILENAME
    ? [api.downloads.onDeterminingFilename, onDeterminingFilename]
    : [api.downloads.onCreated, onDownloadCreated],
];

function addListeners () {
  for (const [event, listener, ...options] of LISTENERS) {
    event.addListener(listener, ...options);
  }
}

addListeners();
