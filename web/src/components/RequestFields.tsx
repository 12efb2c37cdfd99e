// Title, description and priority: shared by the new-request form and the
// edit panel.
import type { Priority } from '../api/types';
import { PRIORITIES } from '../api/types';
import { useI18n } from '../i18n/I18nProvider';
import { Field } from './Field';

export interface RequestDraft {
  title: string;
  description: string;
  priority: Priority;
}

export type FieldErrors = Partial<Record<'title' | 'description' | 'priority' | 'dueDate', string>>;

interface Props {
  draft: RequestDraft;
  onChange: (draft: RequestDraft) => void;
  errors: FieldErrors;
}

export function RequestFields({ draft, onChange, errors }: Props) {
  const { t } = useI18n();
  return (
    <>
      <Field label={t('form.title')} error={errors.title} testId="title">
        <input
          type="text"
          name="title"
          maxLength={200}
          required
          autoComplete="off"
          value={draft.title}
          onChange={(e) => onChange({ ...draft, title: e.target.value })}
          data-testid="title-input"
        />
      </Field>
      <Field label={t('form.description')} error={errors.description} testId="description">
        <textarea
          name="description"
          rows={4}
          maxLength={5000}
          value={draft.description}
          onChange={(e) => onChange({ ...draft, description: e.target.value })}
          data-testid="description-input"
        />
      </Field>
      <Field label={t('form.priority')} error={errors.priority}>
        <select
          name="priority"
          value={draft.priority}
          onChange={(e) => onChange({ ...draft, priority: e.target.value as Priority })}
          data-testid="priority-select"
        >
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {t(`priority.${p}`)}
            </option>
          ))}
        </select>
      </Field>
    </>
  );
}
