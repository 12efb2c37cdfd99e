import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '../api/client';
import { Field } from '../components/Field';
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';

type Errors = Partial<Record<'email' | 'password' | 'displayName', string>>;

export function Register() {
  const i18n = useI18n();
  const { t } = i18n;
  const navigate = useNavigate();
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setGeneral(null);
    const local: Errors = {};
    if (!displayName.trim()) local.displayName = t('error.field.displayName');
    if (!/^\S+@\S+$/.test(email.trim())) local.email = t('error.field.email');
    if (password.length < 8) local.password = t('error.field.password');
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const user = await api.register(email.trim(), password, displayName.trim());
      navigate('/signin', { state: { registered: user.email } });
    } catch (e) {
      const { field, message } = describeError(e, i18n, 'register');
      if (field === 'email' || field === 'password' || field === 'displayName') setErrors({ [field]: message });
      else setGeneral(message);
      setBusy(false);
    }
  };

  return (
    <div className="page page-auth">
      <form className="card auth-card" onSubmit={submit} noValidate data-testid="register-form">
        <h1>{t('auth.register')}</h1>
        <Field label={t('auth.displayName')} error={errors.displayName} testId="displayName">
          <input
            autoComplete="name"
            value={displayName}
            onChange={(e) => setDisplayName(e.target.value)}
            data-testid="display-name"
          />
        </Field>
        <Field label={t('auth.email')} error={errors.email} testId="email">
          <input
            type="email"
            autoComplete="username"
            dir="ltr"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="email"
          />
        </Field>
        <Field label={t('auth.password')} error={errors.password} hint={t('auth.passwordHint')} testId="password">
          <input
            type="password"
            autoComplete="new-password"
            dir="ltr"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="password"
          />
        </Field>
        {general && (
          <p role="alert" className="error" data-testid="register-error">
            {general}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="register-submit">
          {t('auth.registerSubmit')}
        </button>
        <p>
          {t('auth.haveAccount')} <Link to="/signin">{t('auth.signIn')}</Link>
        </p>
      </form>
    </div>
  );
}
