import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { Field } from '../components/Field';
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';

const DEMO_USERS = ['alice@example.com', 'bob@example.com', 'designer@example.com', 'admin@example.com'];

export function SignIn() {
  const i18n = useI18n();
  const { t } = i18n;
  const { signIn, expired } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const registered = (location.state as { registered?: string } | null)?.registered;
  const [email, setEmail] = useState(registered ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await signIn(email.trim(), password);
      const next = new URLSearchParams(location.search).get('next');
      navigate(next && next.startsWith('/') ? next : '/new', { replace: true });
    } catch (e) {
      setError(describeError(e, i18n, 'login').message);
      setBusy(false);
    }
  };

  return (
    <div className="page page-auth">
      <form className="card auth-card" onSubmit={submit} noValidate data-testid="signin-form">
        <h1>{t('auth.signIn')}</h1>
        {registered && (
          <p role="status" className="success">
            {t('auth.registered')}
          </p>
        )}
        {expired && !registered && (
          <p role="status" className="warning">
            {t('auth.expired')}
          </p>
        )}
        <Field label={t('auth.email')}>
          <input
            type="email"
            autoComplete="username"
            dir="ltr"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="email"
            required
          />
        </Field>
        <Field label={t('auth.password')}>
          <input
            type="password"
            autoComplete="current-password"
            dir="ltr"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="password"
            required
          />
        </Field>
        {error && (
          <p role="alert" className="error" data-testid="signin-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="signin-submit">
          {t('auth.signIn')}
        </button>
        <p>
          {t('auth.noAccount')} <Link to="/register">{t('auth.register')}</Link>
        </p>
        <div className="hint demo-hint">
          <p>{t('auth.demo')}</p>
          <ul>
            {DEMO_USERS.map((email) => (
              <li key={email}>
                <bdi dir="ltr">{email}</bdi>
              </li>
            ))}
          </ul>
          <p>
            {t('auth.demoPassword')} <bdi dir="ltr">demo-password</bdi>
          </p>
        </div>
      </form>
    </div>
  );
}
