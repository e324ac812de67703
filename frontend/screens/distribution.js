// Settings → Security (passphrase mode) and Settings → About (version, this copy of TFTSR,
// the app-menu launcher).
//
// Passphrase mode derives the database key from a passphrase asked for at every start;
// switching it on, changing the passphrase and switching it off re-key the database (a
// verified copy replaces it, so a failure changes nothing). Passphrases go to the backend
// only inside these commands' arguments and are never shown, stored or logged; the fields
// are cleared as soon as a dialog closes. A portable folder always uses a passphrase.

import { html, useState, useEffect, useCallback } from '../vendor/htm-preact/standalone.module.js';
import { call, errorMessage } from '../lib/commands.js';
import { Icon } from '../lib/icons.js';
import { Modal, openDialog, toast, Spinner, Field, Switch, useUid } from '../lib/ui.js';
import { useApp, loadInfo } from '../lib/state.js';

export const distribution = {
  passphraseStatus: () => call('get_passphrase_status'),
  enablePassphrase: (passphrase) => call('enable_passphrase', { passphrase }),
  changePassphrase: (current, next) => call('change_passphrase', { current, new: next }),
  disablePassphrase: (current) => call('disable_passphrase', { current }),
  launcherStatus: () => call('get_launcher_status'),
  installLauncher: () => call('install_launcher'),
  uninstallLauncher: () => call('uninstall_launcher'),
};

const PLATFORM = { linux: 'app menu', windows: 'Start menu', macos: 'Applications folder' };

// ---------------------------------------------------------------- Security

export function SecuritySection() {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);

  const load = useCallback(() => {
    distribution.passphraseStatus().then(setStatus, setError);
  }, []);
  useEffect(load, []);

  const run = async (kind) => {
    const done = await openDialog((close) => html`<${PassphraseDialog} kind=${kind} status=${status} onClose=${close} />`);
    if (done) {
      setStatus(done);
      loadInfo().catch(() => {});
    }
  };

  return html`<section class="card settings-card" aria-labelledby="security-h" data-testid="settings-security">
    <h2 class="card-title" id="security-h">Security</h2>
    ${!status
      ? error
        ? html`<p class="form-error" role="alert">${errorMessage(error)}</p>`
        : html`<${Spinner} />`
      : html`<div class="setting-list">
          <div class="setting-row">
            <div class="setting-text">
              <span class="setting-label" id="passphrase-mode-l">Ask for a passphrase at start</span>
              <p class="setting-desc">
                ${status.portable
                  ? 'This is a portable copy of TFTSR: its database key is always derived from your passphrase and never stored on the drive.'
                  : 'The database key is derived from a passphrase you type when TFTSR starts, instead of being kept in the OS keyring or a key file. Nobody can open the data without it — and if you forget it, neither can you.'}
              </p>
              <p class="setting-desc" data-testid="passphrase-state">
                ${status.enabled ? html`<strong>On.</strong> ${status.key_source_detail}` : html`<strong>Off.</strong> ${status.key_source_detail}`}
              </p>
            </div>
            <div class="setting-control">
              <${Switch} checked=${status.enabled} label="Ask for a passphrase at start" testid="passphrase-mode"
                disabled=${status.enabled && !status.can_switch_off}
                onChange=${(on) => run(on ? 'enable' : 'disable')} />
            </div>
          </div>
          ${status.enabled
            ? html`<div class="setting-row">
                <div class="setting-text">
                  <span class="setting-label">Passphrase</span>
                  <p class="setting-desc">Changing it re-keys the database; the old passphrase stops working at once.</p>
                </div>
                <div class="setting-control">
                  <button class="btn btn-sm" onClick=${() => run('change')} data-testid="passphrase-change">
                    <${Icon} name="key" /> Change passphrase…
                  </button>
                </div>
              </div>`
            : null}
        </div>`}
  </section>`;
}

const DIALOG = {
  enable: { title: 'Use a passphrase', button: 'Re-key with this passphrase', current: false, next: true },
  change: { title: 'Change the passphrase', button: 'Re-key with the new passphrase', current: true, next: true },
  disable: { title: 'Stop asking for a passphrase', button: 'Re-key with a stored key', current: true, next: false },
};

function PassphraseDialog({ kind, status, onClose }) {
  const spec = DIALOG[kind];
  const uid = useUid('pp');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const close = (value) => {
    setCurrent('');
    setNext('');
    setAgain('');
    onClose(value);
  };

  const submit = async (e) => {
    if (e) e.preventDefault();
    if (spec.next && next.length < status.min_length) return setError(`Use at least ${status.min_length} characters.`);
    if (spec.next && next !== again) return setError('The two new passphrases differ.');
    setError('');
    setBusy(true);
    try {
      let result;
      if (kind === 'enable') result = await distribution.enablePassphrase(next);
      else if (kind === 'change') result = await distribution.changePassphrase(current, next);
      else result = await distribution.disablePassphrase(current);
      toast.success(kind === 'disable' ? 'The passphrase is no longer needed' : 'The database was re-keyed with your passphrase');
      close(result);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
    return undefined;
  };

  const input = (id, label, value, set, testid, hint) => html`<${Field} label=${label} htmlFor=${id} hint=${hint}>
    <input id=${id} class="input" type="password" autocomplete=${testid === 'passphrase-current' ? 'current-password' : 'new-password'}
      value=${value} onInput=${(ev) => set(ev.currentTarget.value)} data-testid=${testid}
      data-autofocus=${testid === (spec.current ? 'passphrase-current' : 'passphrase-new') ? true : undefined} />
  <//>`;

  return html`<${Modal} title=${spec.title} size="sm" testid="passphrase-dialog" onClose=${() => close(null)}
    footer=${html`<button class="btn" onClick=${() => close(null)} disabled=${busy}>Cancel</button>
      <button class="btn btn-primary" onClick=${submit} disabled=${busy} data-testid="passphrase-submit">
        ${busy ? html`<${Spinner} inline label="Re-keying…" />` : spec.button}
      </button>`}>
    <form onSubmit=${submit}>
      ${kind === 'disable'
        ? html`<p class="dialog-text">A new random key will be kept in the OS keyring (or a key file in the data folder), and TFTSR will start without asking.</p>`
        : html`<p class="dialog-text">The database is re-keyed now; nothing else changes. Write the passphrase down somewhere safe: it cannot be recovered.</p>`}
      ${spec.current ? input(uid + '-c', 'Current passphrase', current, setCurrent, 'passphrase-current') : null}
      ${spec.next ? input(uid + '-n', 'New passphrase', next, setNext, 'passphrase-new', `At least ${status.min_length} characters.`) : null}
      ${spec.next ? input(uid + '-a', 'The new passphrase again', again, setAgain, 'passphrase-again') : null}
      ${error ? html`<p class="form-error" role="alert" data-testid="passphrase-error">${error}</p>` : null}
      <button type="submit" hidden></button>
    </form>
  <//>`;
}

// ---------------------------------------------------------------- About

export function AboutSection() {
  const { info } = useApp();
  const [launcher, setLauncher] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    distribution.launcherStatus().then(setLauncher, () => setLauncher(null));
  }, []);

  const change = async (install) => {
    setBusy(true);
    try {
      const result = install ? await distribution.installLauncher() : await distribution.uninstallLauncher();
      setLauncher(result);
      toast.success(install ? 'TFTSR was added to the ' + (PLATFORM[result.platform] || 'app menu') : 'The launcher was removed');
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(false);
    }
  };

  const where = launcher && (PLATFORM[launcher.platform] || 'app menu');
  return html`<section class="card settings-card" aria-labelledby="about-h" data-testid="settings-about">
    <h2 class="card-title" id="about-h">About</h2>
    <dl class="kv data-kv">
      <dt><${Icon} name="info" /> Version</dt>
      <dd data-testid="about-version">${info ? 'TFTSR ' + info.version : '…'}</dd>
      <dt><${Icon} name="monitor" /> Launcher</dt>
      <dd data-testid="about-launcher">
        ${!launcher
          ? html`<${Spinner} inline />`
          : html`<span class="block">${launcher.installed ? html`In the ${where}: <code class="mono">${launcher.location}</code>` : `Not in the ${where} yet.`}</span>
              <span class="subtle block small">Starts <code class="mono">${launcher.command.join(' ')}</code></span>
              ${launcher.tested_here ? null : html`<span class="subtle block small">Launchers for this system are written on a best-effort basis.</span>`}`}
      </dd>
    </dl>
    ${launcher
      ? html`<div class="page-actions">
          <button class="btn btn-sm" onClick=${() => change(true)} disabled=${busy} data-testid="install-launcher">
            <${Icon} name="plus" /> ${launcher.installed ? 'Update launcher' : 'Install launcher'}
          </button>
          ${launcher.installed
            ? html`<button class="btn btn-sm btn-ghost" onClick=${() => change(false)} disabled=${busy} data-testid="uninstall-launcher">
                <${Icon} name="trash" /> Remove launcher
              </button>`
            : null}
        </div>`
      : null}
  </section>`;
}
