// New request: the live capacity calendar beside the request form.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { Calendar } from '../components/Calendar';
import { RequestFields, type FieldErrors, type RequestDraft } from '../components/RequestFields';
import { SelectedDay } from '../components/SelectedDay';
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';
import { useLatestDay } from '../live/LiveProvider';
import { keys } from '../live/queryKeys';
import { useSettings } from '../live/useAvailability';

const EMPTY: RequestDraft = { title: '', description: '', priority: 'normal' };
const FORM_FIELDS = ['title', 'description', 'priority', 'dueDate'] as const;

export function NewRequest() {
  const i18n = useI18n();
  const { t } = i18n;
  const queryClient = useQueryClient();
  const settings = useSettings();
  const [draft, setDraft] = useState<RequestDraft>(EMPTY);
  const [dueDate, setDueDate] = useState<string | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [success, setSuccess] = useState<string | null>(null);
  const selectedDay = useLatestDay(dueDate);

  const create = useMutation({
    mutationFn: api.createRequest,
    onSuccess: (request) => {
      setSuccess(t('form.created', { title: request.title, date: i18n.longDate(request.dueDate) }));
      setDraft(EMPTY);
      setDueDate(null);
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    },
    onError: (error) => {
      const { field, message } = describeError(error, i18n, 'request');
      if (field && (FORM_FIELDS as readonly string[]).includes(field)) setErrors({ [field]: message });
      else setGeneral(message);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSuccess(null);
    setGeneral(null);
    const local: FieldErrors = {};
    if (!draft.title.trim()) local.title = t('error.field.title');
    if (!dueDate) local.dueDate = t('form.pickDate');
    setErrors(local);
    if (Object.keys(local).length || !dueDate) return;
    create.mutate({
      title: draft.title.trim(),
      description: draft.description,
      priority: draft.priority,
      dueDate,
    });
  };

  if (settings.isPending) return <p>{t('app.loading')}</p>;
  if (settings.isError) return <p role="alert">{describeError(settings.error, i18n).message}</p>;
  const { minDate, maxDate, today } = settings.data;

  return (
    <div className="page page-new">
      <h1>{t('form.newTitle')}</h1>
      <div className="new-layout">
        <Calendar
          minDate={minDate}
          maxDate={maxDate}
          today={today}
          selected={dueDate}
          onSelect={(date) => {
            setDueDate(date);
            setErrors((e) => ({ ...e, dueDate: undefined }));
          }}
        />
        <form className="request-form" onSubmit={submit} noValidate data-testid="request-form">
          <SelectedDay date={dueDate} day={selectedDay} error={errors.dueDate} />
          <RequestFields draft={draft} onChange={setDraft} errors={errors} />
          {general && (
            <p role="alert" className="error" data-testid="form-error">
              {general}
            </p>
          )}
          {success && (
            <p role="status" className="success" data-testid="form-success">
              {success}
            </p>
          )}
          <button type="submit" className="primary" disabled={create.isPending} data-testid="submit-request">
            {create.isPending ? t('form.submitting') : t('form.submit')}
          </button>
        </form>
      </div>
    </div>
  );
}
