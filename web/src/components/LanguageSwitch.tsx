import { useI18n } from '../i18n/I18nProvider';
import type { Lang } from '../i18n/format';

const LANGS: Lang[] = ['en', 'fa'];

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div className="lang-switch" role="group" aria-label={t('lang.switch')}>
      {LANGS.map((code) => (
        <button
          key={code}
          type="button"
          lang={code}
          aria-pressed={lang === code}
          onClick={() => setLang(code)}
          data-testid={`lang-${code}`}
        >
          {t(`lang.${code}`)}
        </button>
      ))}
    </div>
  );
}
