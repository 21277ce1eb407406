// Unit tests of the browser extension's decisions (data/browser/extension/rules.js).
// SPDX-License-Identifier: GPL-3.0-or-later
//
// Plain Node (18 or later), no packages: node tests/extension/test-rules.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const R = require('../../data/browser/extension/rules.js');

const on = { ...R.DEFAULT_SETTINGS };

function download (fields = {}) {
  return {
    id: 7,
    url: 'https://files.example.com/pub/disk.iso',
    referrer: 'https://www.example.com/downloads#latest',
    filename: '/home/u/Downloads/disk.iso',
    incognito: false,
    mime: 'application/x-iso9660-image',
    totalBytes: 4096,
    fileSize: 4096,
    state: 'in_progress',
    ...fields,
  };
}

function decide (fields, settings = on, context = { siteAccess: true }) {
  return R.decideDownload(download(fields), settings, context);
}

test('an ordinary https GET download is taken', () => {
  assert.deepEqual(decide({}), { take: true, reason: '' });
  assert.deepEqual(decide({ url: 'http://example.org/a.zip', filename: 'a.zip' }).take, true);
});

test('blob:, data: and other non-http addresses are left to the browser', () => {
  for (const url of ['blob:https://example.com/0b6c-4e', 'data:text/plain,hello',
    'ftp://example.com/a.zip', 'file:///etc/passwd', 'about:blank', '', undefined]) {
    assert.equal(decide({ url }).reason, 'not-http', String(url));
  }
  // Chromium's finalUrl counts too.
  assert.equal(decide({ finalUrl: 'data:,x' }).reason, 'not-http');
  assert.equal(decide({ finalUrl: '' }).take, true);
});

test('turned off, nothing is taken', () => {
  assert.equal(decide({}, { ...on, enabled: false }).reason, 'disabled');
});

test('POST downloads are left to the browser', () => {
  assert.equal(decide({}, on, { isPost: true, siteAccess: true }).reason, 'post');
});

test('private windows only when allowed', () => {
  assert.equal(decide({ incognito: true }).reason, 'private');
  assert.equal(decide({ incognito: true }, { ...on, allowPrivate: true }).take, true);
});

test('the minimum size applies only to a known size', () => {
  const min = { ...on, minSizeBytes: 10000 };
  assert.equal(decide({}, min).reason, 'too-small');
  assert.equal(decide({ totalBytes: 10000, fileSize: 10000 }, min).take, true);
  // Unknown: Chromium says 0, Firefox -1.
  assert.equal(decide({ totalBytes: 0, fileSize: 0 }, min).take, true);
  assert.equal(decide({ totalBytes: -1, fileSize: -1 }, min).take, true);
  assert.equal(decide({ totalBytes: -1, fileSize: 20000 }, min).take, true);
});

test('excluded sites match the file host and the page host, subdomains included', () => {
  const ex = (patterns) => ({ ...on, excludedSites: patterns });
  assert.equal(decide({}, ex(['example.com'])).reason, 'excluded-site');
  assert.equal(decide({}, ex(['files.example.com'])).reason, 'excluded-site');
  assert.equal(decide({}, ex(['www.example.com'])).reason, 'excluded-site'); // the page
  assert.equal(decide({}, ex(['ample.com'])).take, true);
  assert.equal(decide({}, ex(['other.org'])).take, true);
  assert.equal(decide({ referrer: '' }, ex(['www.example.com'])).take, true);
});

test('host patterns', () => {
  assert.equal(R.hostMatches('a.b.example.com', '*.example.com'), true);
  assert.equal(R.hostMatches('example.com', '*.example.com'), false);
  assert.equal(R.hostMatches('EXAMPLE.com.', 'Example.COM'), true);
  assert.equal(R.hostMatches('example.com', 'https://example.com:8443/path'), true);
  assert.equal(R.hostMatches('example.com', '.example.com'), true);
  assert.equal(R.hostMatches('127.0.0.1', '127.0.0.1:8080'), true);
  assert.equal(R.hostMatches('[::1]', '[::1]:8080'), true);
  assert.equal(R.hostMatches('badexample.com', 'example.com'), false);
  assert.equal(R.normalizeHostPattern('  '), '');
  assert.equal(R.normalizeHostPattern('exa mple.com'), '');
  assert.equal(R.normalizeHostPattern('*'), '');
});

test('file types: empty means all, else by name ending', () => {
  const only = (types) => ({ ...on, fileTypes: types });
  assert.equal(decide({}, only(['iso'])).take, true);
  assert.equal(decide({}, only(['.ISO'])).take, true);
  assert.equal(decide({}, only(['*.iso', 'zip'])).take, true);
  assert.equal(decide({}, only(['zip'])).reason, 'file-type');
  // Multi-part endings and names without a dot.
  assert.equal(decide({ filename: 'src.tar.gz' }, only(['tar.gz'])).take, true);
  assert.equal(decide({ filename: 'gz' }, only(['gz'])).reason, 'file-type');
  // Without a browser name, the last part of the address decides.
  assert.equal(decide({ filename: '', url: 'https://x.org/get/a%20b.zip?x=1' },
    only(['zip'])).take, true);
  assert.equal(decide({ filename: '', url: 'https://x.org/download?id=3' },
    only(['zip'])).reason, 'file-type');
});

test('downloads other extensions started, and finished ones, are left alone', () => {
  assert.equal(decide({ byExtensionId: 'abc' }).reason, 'extension');
  assert.equal(decide({ state: 'complete' }).reason, 'not-in-progress');
  assert.equal(decide({ state: undefined }).take, true);
});

test('without access to the site the download stays in the browser', () => {
  assert.equal(decide({}, on, { siteAccess: false }).reason, 'no-site-access');
  assert.equal(decide({}, on, {}).take, true);
});

test('settings are normalised', () => {
  assert.deepEqual(R.normalizeSettings(undefined), {
    enabled: true, minSizeBytes: 0, excludedSites: [], fileTypes: [], allowPrivate: false,
  });
  assert.deepEqual(R.normalizeSettings({
    enabled: 'no', minSizeBytes: '1536.7', excludedSites: 'Example.com\n*.cdn.org  example.com',
    fileTypes: '.ZIP, iso;;tar.gz */x', allowPrivate: true, other: 1,
  }), {
    enabled: true,
    minSizeBytes: 1536,
    excludedSites: ['example.com', '*.cdn.org'],
    fileTypes: ['zip', 'iso', 'tar.gz'],
    allowPrivate: true,
  });
  assert.equal(R.normalizeSettings({ minSizeBytes: -5 }).minSizeBytes, 0);
  assert.equal(R.normalizeSettings({ minSizeBytes: NaN }).minSizeBytes, 0);
  assert.deepEqual(R.SETTINGS_KEYS,
    ['enabled', 'minSizeBytes', 'excludedSites', 'fileTypes', 'allowPrivate']);
});

test('referrers lose their fragment and anything that is not http(s)', () => {
  assert.equal(R.cleanReferrer('https://www.example.com/downloads#latest'),
    'https://www.example.com/downloads');
  assert.equal(R.cleanReferrer('https://example.com/a?b=c#'), 'https://example.com/a?b=c');
  assert.equal(R.cleanReferrer('about:blank'), '');
  assert.equal(R.cleanReferrer(''), '');
  assert.equal(R.cleanReferrer(undefined), '');
});

test('base names from Firefox paths and Chromium names', () => {
  assert.equal(R.baseName('/home/u/Downloads/disk.iso'), 'disk.iso');
  assert.equal(R.baseName('C:\\Users\\u\\Downloads\\disk.iso'), 'disk.iso');
  assert.equal(R.baseName('sub/dir/file.txt'), 'file.txt');
  assert.equal(R.baseName('file.txt'), 'file.txt');
  assert.equal(R.baseName(''), '');
  assert.equal(R.baseName(undefined), '');
});

test('known sizes', () => {
  assert.equal(R.knownSize({ totalBytes: 10, fileSize: 10 }), 10);
  assert.equal(R.knownSize({ totalBytes: 0, fileSize: 0 }), null);
  assert.equal(R.knownSize({ totalBytes: -1, fileSize: 12 }), 12);
  assert.equal(R.knownSize({}), null);
});

test('one Cookie header: unpartitioned always, partitioned only for this site', () => {
  const url = 'https://files.example.com/pub/disk.iso';
  const page = 'https://www.example.com/downloads';
  const cookies = [
    { name: 'a', value: '1', domain: '.example.com', path: '/' },
    { name: 'b', value: '2', domain: 'files.example.com', path: '/pub' },
    { name: 'p', value: 'mine', domain: 'files.example.com', path: '/',
      partitionKey: { topLevelSite: 'https://example.com' } },
    { name: 'p', value: 'theirs', domain: 'files.example.com', path: '/',
      partitionKey: { topLevelSite: 'https://other.org' } },
    { name: 'a', value: '1', domain: '.example.com', path: '/' }, // duplicate
    { name: '', value: 'bare', domain: 'files.example.com', path: '/' },
    { name: 'n', value: 'x', domain: 'files.example.com', path: '/', partitionKey: {} },
  ];
  assert.equal(R.buildCookieHeader(cookies, [url, page]), 'b=2; a=1; p=mine; bare; n=x');
  // Without the page, a partition of the download's own site still fits.
  assert.equal(R.buildCookieHeader(cookies.slice(2, 4), [url]), 'p=mine');
  // Scheme matters for a site.
  assert.equal(R.buildCookieHeader(cookies.slice(2, 3), ['http://files.example.com/']), '');
  assert.equal(R.buildCookieHeader([], [url]), '');
  assert.equal(R.buildCookieHeader(undefined, [url]), '');
});

test('first-party-isolated cookies only for the first party of this download', () => {
  const cookies = [
    { name: 'a', value: '1', domain: 'example.com', path: '/', firstPartyDomain: 'example.com' },
    { name: 'b', value: '2', domain: 'example.com', path: '/', firstPartyDomain: 'other.org' },
    { name: 'c', value: '3', domain: 'example.com', path: '/', firstPartyDomain: '' },
  ];
  assert.equal(R.buildCookieHeader(cookies, ['https://dl.example.com/x', '']), 'a=1; c=3');
});

test('Chromium cookie stores', () => {
  const stores = [{ id: '0', tabIds: [1, 2] }, { id: '1', tabIds: [5] }];
  assert.equal(R.pickChromiumCookieStore(stores, { incognito: false }), undefined);
  assert.equal(R.pickChromiumCookieStore(stores, { incognito: true }), '1');
  assert.equal(R.pickChromiumCookieStore(stores, { incognito: true, tabId: 5 }), '1');
  assert.equal(R.pickChromiumCookieStore([{ id: '0', tabIds: [] }], { incognito: true }), undefined);
  assert.equal(R.pickChromiumCookieStore(undefined, { incognito: true }), undefined);
});

test('match patterns for permissions.contains carry no port', () => {
  assert.equal(R.matchPatternFor('http://127.0.0.1:8080/a?b'), 'http://127.0.0.1/*');
  assert.equal(R.matchPatternFor('https://Example.com/'), 'https://example.com/*');
  assert.equal(R.matchPatternFor('blob:https://example.com/x'), '');
});

test('the download message', () => {
  assert.deepEqual(R.buildDownloadMessage({
    url: 'https://x.org/a.zip', referrer: 'https://x.org/', cookies: 'a=1; b=2',
    userAgent: 'UA/1', filename: 'a.zip', mime: 'application/zip', size: 42,
  }), {
    v: 1, type: 'download', url: 'https://x.org/a.zip', referrer: 'https://x.org/',
    cookies: 'a=1; b=2', userAgent: 'UA/1', filename: 'a.zip', mime: 'application/zip', size: 42,
  });
  // Unknown fields are left out, never sent empty; no folder ever.
  const bare = R.buildDownloadMessage({ url: 'https://x.org/a', referrer: '', cookies: '',
    mime: undefined, size: null, filename: '' });
  assert.deepEqual(bare, { v: 1, type: 'download', url: 'https://x.org/a' });
  assert.equal('directory' in R.buildDownloadMessage({ url: 'https://x.org/a', directory: '/' }),
    false);
  const many = R.buildDownloadMessage({ url: 'https://x.org/1', urls: ['https://x.org/1', 'https://x.org/2'] });
  assert.deepEqual(many.urls, ['https://x.org/1', 'https://x.org/2']);
});

test('page links: http(s) only, once each, without fragments, not the page itself', () => {
  const page = 'https://x.org/list#top';
  const hrefs = ['https://x.org/a.zip', 'https://x.org/a.zip#sig', 'https://x.org/list#other',
    'mailto:me@x.org', 'javascript:void(0)', 'https://y.org/b.iso', 'http://x.org/c.txt', 42];
  assert.deepEqual(R.filterLinks(hrefs, { pageUrl: page }),
    ['https://x.org/a.zip', 'https://y.org/b.iso', 'http://x.org/c.txt']);
  assert.deepEqual(R.filterLinks(hrefs, { pageUrl: page, fileTypes: ['iso', 'zip'] }),
    ['https://x.org/a.zip', 'https://y.org/b.iso']);
  assert.deepEqual(R.filterLinks(undefined, {}), []);
});

test('links are batched per origin and below the frame limit', () => {
  const urls = ['https://x.org/1', 'https://y.org/1', 'https://x.org/2', 'http://x.org/3'];
  assert.deepEqual(R.batchLinks(urls), [
    ['https://x.org/1', 'https://x.org/2'], ['https://y.org/1'], ['http://x.org/3'],
  ]);
  const long = Array.from({ length: 50 }, (_, i) => `https://x.org/${'f'.repeat(80)}${i}`);
  const batches = R.batchLinks(long, 1000);
  assert.ok(batches.length > 1);
  assert.deepEqual(batches.flat(), long);
  for (const batch of batches) {
    assert.ok(JSON.stringify(batch).length <= 1000 + 2, 'batch too large');
  }
  // One address longer than the limit still travels, alone.
  assert.deepEqual(R.batchLinks(['https://x.org/' + 'a'.repeat(2000)], 100).length, 1);
  // A full page of links stays far below 1 MiB per message.
  const page = Array.from({ length: 20000 }, (_, i) => `https://x.org/files/${i}/${'n'.repeat(40)}.zip`);
  for (const batch of R.batchLinks(page)) {
    const message = R.buildDownloadMessage({ url: batch[0], urls: batch, cookies: 'c'.repeat(4096) });
    assert.ok(Buffer.byteLength(JSON.stringify(message)) < 1024 * 1024);
  }
});

test('POST requests are remembered for a while, and a later GET forgets them', () => {
  const url = 'https://x.org/export';
  let records = R.recordRequest({}, { url: url + '#f', method: 'POST' }, 1000);
  assert.equal(R.wasPosted(records, [url], 2000), true);
  assert.equal(R.wasPosted(records, ['https://x.org/other', undefined], 2000), false);
  assert.equal(R.wasPosted(records, [url], 1000 + R.POST_RECORD_TTL_MS), false);
  records = R.recordRequest(records, { url, method: 'get' }, 3000);
  assert.equal(R.wasPosted(records, [url], 3000), false);
  // Old records are pruned when a new one is written; junk is ignored.
  records = R.recordRequest({ 'https://old/': -1e9, junk: 'x' }, { url, method: 'PUT' }, 5000);
  assert.deepEqual(records, { [url]: 5000 });
  assert.equal(R.wasPosted(undefined, [url], 0), false);
});

test('the toolbar badge', () => {
  assert.equal(R.badgeState({ enabled: false, error: 'boom' }).kind, 'off');
  assert.deepEqual(R.badgeState({ enabled: true, error: 'boom' }),
    { kind: 'error', text: '!', color: '#c01c28' });
  assert.equal(R.badgeState({ enabled: true, error: '' }).text, '');
  assert.equal(R.badgeState({ enabled: true }).kind, 'on');
});

test('host replies', () => {
  assert.equal(R.replyError({ v: 1, ok: true, ids: ['1'] }), '');
  assert.equal(R.replyError({ v: 1, ok: false, error: 'No such folder' }), 'No such folder');
  assert.equal(R.replyError({ v: 1, ok: false }), 'refused');
  assert.equal(R.replyError({ v: 1, ok: 'yes' }), 'refused');
  assert.equal(R.replyError(undefined), 'no-reply');
  assert.equal(R.replyError('ok'), 'no-reply');
});
