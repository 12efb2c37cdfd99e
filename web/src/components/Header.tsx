// The header. On a wide screen: brand, navigation and tools in one row. On a
// phone it collapses to one short row — brand, live state, bell and a menu
// button that opens the navigation and the rest.
import { useEffect, useId, useRef, useState } from 'react';
import { NavLink, useLocation } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { useI18n } from '../i18n/I18nProvider';
import { ConnectionIndicator } from './ConnectionIndicator';
import { LanguageSwitch } from './LanguageSwitch';
import { NotificationBell } from './NotificationBell';

export function Header() {
  const { t } = useI18n();
  const { user, signOut } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  const menuId = useId();
  const location = useLocation();
  const toggle = useRef<HTMLButtonElement>(null);

  // a page change closes the menu
  useEffect(() => setMenuOpen(false), [location.pathname]);
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      setMenuOpen(false);
      toggle.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  if (!user) {
    return (
      <header className="header">
        <span className="brand">{t('app.title')}</span>
        <div className="header-tools header-tools-public">
          <LanguageSwitch />
        </div>
      </header>
    );
  }
  const staff = user.role === 'designer' || user.role === 'admin';
  return (
    <header className={`header${menuOpen ? ' header-menu-open' : ''}`}>
      <span className="brand">{t('app.title')}</span>
      <div className="header-quick">
        <ConnectionIndicator />
        <NotificationBell />
        <button
          ref={toggle}
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls={menuId}
          onClick={() => setMenuOpen(!menuOpen)}
          data-testid="menu-toggle"
        >
          <svg aria-hidden="true" viewBox="0 0 20 20" width="18" height="18">
            {menuOpen ? (
              <path d="M5 5l10 10M15 5 5 15" stroke="currentColor" strokeWidth="2" />
            ) : (
              <path d="M3 5h14M3 10h14M3 15h14" stroke="currentColor" strokeWidth="2" />
            )}
          </svg>
          <span>{t('nav.menu')}</span>
        </button>
      </div>
      <div className="header-menu" id={menuId} data-testid="header-menu">
        <nav aria-label={t('nav.main')} className="nav">
          <NavLink to="/new" data-testid="nav-new">
            {t('nav.newRequest')}
          </NavLink>
          <NavLink to="/requests" data-testid="nav-requests">
            {t('nav.myRequests')}
          </NavLink>
          {staff && (
            <NavLink to="/queue" data-testid="nav-queue">
              {t('nav.queue')}
            </NavLink>
          )}
          {staff && (
            <NavLink to="/capacity" data-testid="nav-capacity">
              {t('nav.capacity')}
            </NavLink>
          )}
          {user.role === 'admin' && (
            <NavLink to="/admin" data-testid="nav-admin">
              {t('nav.admin')}
            </NavLink>
          )}
        </nav>
        <div className="header-tools">
          <LanguageSwitch />
          <span className="muted small signed-in" data-testid="signed-in-as">
            {t('nav.signedInAs', { name: user.displayName })}
          </span>
          <button type="button" onClick={signOut} data-testid="sign-out">
            {t('nav.signOut')}
          </button>
        </div>
      </div>
    </header>
  );
}
