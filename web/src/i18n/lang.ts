// The language the UI starts in: the one remembered, else the browser's.
// No React and no dictionaries here: the boot module reads it too.
import type { Lang } from './format';

export const LANG_STORAGE_KEY = 'request-desk.lang';

export function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(LANG_STORAGE_KEY);
    if (stored === 'en' || stored === 'fa') return stored;
  } catch {
    // no storage: the browser's language
  }
  return navigator.language?.toLowerCase().startsWith('fa') ? 'fa' : 'en';
}
