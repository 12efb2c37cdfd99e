// New request: the live capacity calendar beside the request form. On a
// phone the two are stacked, and once a day is picked a bar at the bottom
// offers to continue to the form.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError, api } from '../api/client';
import type { RequestInput } from '../api/types';
import { daySummary, fullByViewer, heldForViewer } from '../calendar/reasons';
import { Calendar } from '../components/Calendar';
import { OfflineSubmit, useOffline } from '../components/OfflineSubmit';
import { RequestFields, type FieldErrors, type RequestDraft } from '../components/RequestFields';
import { SelectedDay, isUnavailable } from '../components/SelectedDay';
import { focusFirstProblem } from '../components/focus';
import { describeError } from '../i18n/errors';
import { knownFreesAt, refusalOf, type Refusal } from '../i18n/fullDay';
import { useI18n } from '../i18n/I18nProvider';
import { useOwnChanges } from '../live/LiveFeedback';
import { HoldStatus } from '../components/HoldStatus';
import { useHold } from '../live/useHold';
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
  const own = useOwnChanges();
  const offline = useOffline();
  const messageId = useId();
  const [draft, setDraft] = useState<RequestDraft>(EMPTY);
  const [dueDate, setDueDate] = useState<string | null>(null);
  const [blocked, setBlocked] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [success, setSuccess] = useState<string | null>(null);
  const [unsent, setUnsent] = useState<{ input: RequestInput; waiting: boolean } | null>(null);
  const [retried, setRetried] = useState(false);
  /** The day this page's own booking is being made for (sent, no answer yet). */
  const [booking, setBooking] = useState<string | null>(null);
  /** The server's last 409 capacity_full: when the holds filling the day may free up. */
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const selectedDay = useLatestDay(dueDate);
  const hold = useHold();
  const form = useRef<HTMLFormElement>(null);
  const selectedRef = useRef<HTMLDivElement>(null);
  const [formInView, setFormInView] = useState(false);

  const create = useMutation({
    // With a hold: the booking cannot fail for capacity. A hold that ended
    // (409 hold_expired, nothing booked) is retried once without it.
    mutationFn: async ({ input }: { input: RequestInput; token: number }) => {
      try {
        return { request: await api.createRequest(input), retried: false };
      } catch (error) {
        if (!(input.holdId !== undefined && error instanceof ApiError && error.code === 'hold_expired')) throw error;
        hold.consumed();
        const { holdId: _expired, ...without } = input;
        try {
          return { request: await api.createRequest(without), retried: true };
        } catch (retryError) {
          setRetried(true);
          throw retryError;
        }
      }
    },
    onSuccess: ({ request, retried: withoutHold }) => {
      // The hold became the request. `hold.consumed()` is an external store's
      // change: React renders it on its own, before the state updates below
      // (the form's reset). That render has no hold but still `booking`, so
      // the day the user has just filled is not "become full" for them.
      hold.consumed();
      setBooking(null);
      setRefusal(null);
      setRetried(withoutHold);
      setSuccess(t('form.created', { title: request.title, date: i18n.longDate(request.dueDate) }));
      setDraft(EMPTY);
      setDueDate(null);
      setBlocked(false);
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    },
    onError: (error, { input, token }) => {
      own.release(token);
      setBooking(null);
      setRefusal(error instanceof ApiError && error.code === 'capacity_full' ? refusalOf(error.details) : null);
      if (error instanceof ApiError && error.code === 'network') {
        setUnsent({ input, waiting: false });
        return;
      }
      const { field, message } = describeError(error, i18n, 'request');
      if (field && (FORM_FIELDS as readonly string[]).includes(field)) setErrors({ [field]: message });
      else setGeneral(message);
      focusFirstProblem(form.current);
    },
  });

  const send = useCallback(
    (input: RequestInput) => {
      setUnsent(null);
      setRetried(false);
      const token = own.expect([input.dueDate]);
      setBooking(input.dueDate);
      const holdId = hold.idFor(input.dueDate);
      const { holdId: _old, ...rest } = input;
      create.mutate({ input: holdId === undefined ? rest : { ...rest, holdId }, token });
    },
    [create, own, hold],
  );

  // Back online with a request the user asked to send then: send it.
  useEffect(() => {
    if (!offline && unsent?.waiting) send(unsent.input);
  }, [offline, unsent, send]);

  // The bar "continue to the form" is offered while the form is out of sight.
  useEffect(() => {
    const target = form.current;
    if (!target || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(([entry]) => setFormInView(entry.isIntersecting), { threshold: 0.15 });
    observer.observe(target);
    return () => observer.disconnect();
  }, [settings.isSuccess]);

  // a day full only because of our own hold is ours to book (everywhere: the form, the cell, the sticky bar)
  const holding = hold.covers(dueDate);
  const ownHold = heldForViewer(selectedDay, holding);
  // ... and a day our own booking is filling (its live update may come before the answer) is no news
  const ownFull = fullByViewer(selectedDay, { holding, booking: dueDate !== null && booking === dueDate });
  const dayProblem = Boolean(dueDate) && isUnavailable(selectedDay) && !ownFull;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSuccess(null);
    setGeneral(null);
    if (create.isPending) return;
    if (dayProblem) {
      selectedRef.current?.focus();
      return;
    }
    const local: FieldErrors = {};
    if (!dueDate) local.dueDate = t('form.pickDate');
    if (!draft.title.trim()) local.title = t('error.field.title');
    setErrors(local);
    if (Object.keys(local).length || !dueDate) {
      focusFirstProblem(form.current);
      return;
    }
    const input: RequestInput = {
      title: draft.title.trim(),
      description: draft.description,
      priority: draft.priority,
      dueDate,
    };
    if (offline) {
      setUnsent({ input, waiting: false });
      return;
    }
    send(input);
  };

  const pick = (date: string) => {
    hold.take(date);
    setDueDate(date);
    setBlocked(false);
    setSuccess(null);
    setErrors((e) => ({ ...e, dueDate: undefined }));
  };

  if (settings.isPending) return <p>{t('app.loading')}</p>;
  if (settings.isError) return <p role="alert">{describeError(settings.error, i18n).message}</p>;
  const { minDate, maxDate, today } = settings.data;
  const summary = selectedDay ? daySummary(selectedDay, hold.covers(dueDate)) : null;
  const continueToForm = () => {
    form.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
    form.current?.querySelector<HTMLInputElement>('[data-testid="title-input"]')?.focus({ preventScroll: true });
  };

  return (
    <div className="page page-new">
      <h1>{t('form.newTitle')}</h1>
      <div className="new-layout">
        <Calendar
          minDate={minDate}
          maxDate={maxDate}
          today={today}
          selected={dueDate}
          heldForYou={ownHold ? dueDate : null}
          onSelect={pick}
          onBlocked={(date) => {
            if (hold.covers(date)) return; // full with our own hold: still ours
            hold.release();
            setDueDate(date);
            setBlocked(true);
            setSuccess(null);
            setErrors((e) => ({ ...e, dueDate: undefined }));
          }}
        />
        <form ref={form} className="request-form" onSubmit={submit} noValidate data-testid="request-form">
          <SelectedDay
            ref={selectedRef}
            date={dueDate}
            day={selectedDay}
            ownDate={ownFull && dueDate ? dueDate : undefined}
            blocked={blocked}
            error={errors.dueDate}
            freesAt={knownFreesAt(selectedDay, refusal)}
            onPick={pick}
            messageId={messageId}
          />
          {dueDate && !dayProblem && <HoldStatus date={dueDate} hold={hold} />}
          <RequestFields draft={draft} onChange={setDraft} errors={errors} />
          {general && (
            <p role="alert" className="error" data-testid="form-error">
              {general}
            </p>
          )}
          {retried && (
            <p role="status" className="hint" data-testid="hold-retried">
              {t('hold.retried')}
            </p>
          )}
          {success && (
            <p role="status" className="success" data-testid="form-success">
              {success}
            </p>
          )}
          {unsent && (
            <OfflineSubmit
              waiting={unsent.waiting}
              offline={offline}
              onWait={() => setUnsent({ ...unsent, waiting: true })}
              onSendNow={() => send(unsent.input)}
              onDiscard={() => setUnsent(null)}
            />
          )}
          <div className="submit-row">
            <button
              type="submit"
              className="primary"
              aria-disabled={dayProblem || create.isPending || Boolean(unsent) || undefined}
              aria-describedby={dayProblem ? `${messageId} submit-why` : undefined}
              data-testid="submit-request"
            >
              {create.isPending ? t('form.submitting') : t('form.submit')}
            </button>
            {dayProblem && (
              <p id="submit-why" className="hint" data-testid="submit-why">
                {t('form.submitBlocked')}
              </p>
            )}
          </div>
        </form>
      </div>
      {dueDate && !formInView && (
        <div className="sticky-action" data-testid="sticky-action">
          <span className="sticky-summary">
            <strong>{i18n.shortDate(dueDate)}</strong>
            {summary && (
              <>
                {i18n.sep}
                <span data-testid="sticky-day">{t(summary.key, summary.params)}</span>
              </>
            )}
          </span>
          <button type="button" className="primary" onClick={continueToForm} data-testid="continue-to-form">
            {t('form.continue')}
          </button>
        </div>
      )}
    </div>
  );
}
