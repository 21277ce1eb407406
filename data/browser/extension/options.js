/* options.js — edits the settings that background.js reads from storage.local.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const Rules = globalThis.SluiceRules;
const api = globalThis.browser ?? globalThis.chrome;
const HOST_NAME = 'org.sluice.browser_host';
const ALL_SITES = { origins: ['<all_urls>'] };

const $ = (id) => document.getElementById(id);

function t (key, substitutions) {
  return api.i18n.getMessage(key, substitutions) || key;
}

function translatePage () {
  document.documentElement.lang = api.i18n.getUILanguage();
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
}

/* The largest unit that shows the stored byte count without a fraction. */
function showMinSize (bytes) {
  const units = Array.from($('minSizeUnit').options, (o) => Number(o.value)).sort((a, b) => b - a);
  const unit = units.find((u) => bytes > 0 && bytes % u === 0) || 1;
  $('minSize').value = bytes > 0 ? String(bytes / unit) : '';
  $('minSizeUnit').value = String(unit);
}

function showSettings (settings) {
  $('enabled').checked = settings.enabled;
  $('allowPrivate').checked = settings.allowPrivate;
  showMinSize(settings.minSizeBytes);
  $('excludedSites').value = settings.excludedSites.join('\n');
  $('fileTypes').value = settings.fileTypes.join(' ');
}

function readForm () {
  const amount = Number($('minSize').value);
  const unit = Number($('minSizeUnit').value);
  return Rules.normalizeSettings({
    enabled: $('enabled').checked,
    allowPrivate: $('allowPrivate').checked,
    minSizeBytes: Number.isFinite(amount) && amount > 0 ? Math.round(amount * unit) : 0,
    excludedSites: $('excludedSites').value,
    fileTypes: $('fileTypes').value,
  });
}

let saveTimer = 0;

async function save () {
  clearTimeout(saveTimer);
  await api.storage.local.set(readForm());
  $('saved').classList.remove('error');
  $('saved').textContent = t('optSaved');
  saveTimer = setTimeout(() => { $('saved').textContent = ''; }, 2000);
}

function saveSoon () {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => save().catch(showSaveError), 400);
}

function showSaveError (error) {
  $('saved').textContent = String(error && error.message ? error.message : error);
  $('saved').classList.add('error');
}

async function showSiteAccess () {
  const granted = await api.permissions.contains(ALL_SITES);
  $('siteAccessText').textContent = t(granted ? 'optSiteAccessGranted' : 'optSiteAccess');
  $('siteAccessButton').hidden = granted;
}

/* permissions.request() must run straight from the click, before anything is awaited. */
function requestSiteAccess () {
  api.permissions.request(ALL_SITES).then(showSiteAccess, showSiteAccess);
}

async function testConnection () {
  const result = $('testResult');
  result.classList.remove('error');
  result.textContent = '…';
  try {
    const reply = await api.runtime.sendNativeMessage(HOST_NAME, { v: 1, type: 'ping' });
    const problem = Rules.replyError(reply);
    if (problem !== '') {
      throw new Error(problem === 'no-reply' ? t('errorNoReply') : problem);
    }
    const version = typeof reply.version === 'string' ? reply.version : '?';
    result.textContent = t(reply.daemon === false ? 'optTestNoDaemon' : 'optTestOk', [version]);
  } catch (error) {
    result.textContent = t('optTestFailed', [String(error && error.message ? error.message : error)]);
    result.classList.add('error');
  }
}

async function main () {
  translatePage();
  showSettings(Rules.normalizeSettings(await api.storage.local.get(Rules.SETTINGS_KEYS)));
  for (const id of ['enabled', 'allowPrivate', 'minSizeUnit']) {
    $(id).addEventListener('change', () => save().catch(showSaveError));
  }
  for (const id of ['minSize', 'excludedSites', 'fileTypes']) {
    $(id).addEventListener('input', saveSoon);
    /* Leaving a field shows what was kept of it. */
    $(id).addEventListener('change', () => save().then(() => showSettings(readForm()), showSaveError));
  }
  /* The toolbar button changes "enabled" while this page is open. */
  api.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && 'enabled' in changes) {
      $('enabled').checked = Rules.normalizeSettings({ enabled: changes.enabled.newValue }).enabled;
    }
  });
  $('siteAccessButton').addEventListener('click', requestSiteAccess);
  $('test').addEventListener('click', () => testConnection());
  await showSiteAccess();
}

main().catch((error) => console.error('Sluice options:', error));
