// Ask before deleting something, unless the user turned that off
// (Settings → Incidents → "Confirm before deleting").
import { confirmDialog } from './ui.js';
import { settingValue } from './state.js';

export function confirmDelete({ title, message, confirmLabel = 'Delete' }) {
  if (settingValue('confirm_delete', true) === false) return Promise.resolve(true);
  return confirmDialog({ title, message, confirmLabel, danger: true });
}
