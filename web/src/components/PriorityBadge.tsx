// A priority that looks like its weight: one to four bars, and Urgent filled.
import type { WorkRequest } from '../api/types';
import { useI18n } from '../i18n/I18nProvider';

export function PriorityBadge({ priority }: { priority: WorkRequest['priority'] }) {
  const { t } = useI18n();
  const bars = { low: 1, normal: 2, high: 3, urgent: 4 }[priority];
  return (
    <span className={`badge priority priority-${priority}`} data-priority={priority}>
      <span className="priority-bars" aria-hidden="true">
        {[1, 2, 3, 4].map((n) => (
          <span key={n} className={n <= bars ? 'on' : undefined} />
        ))}
      </span>
      {t(`priority.${priority}`)}
    </span>
  );
}
