// The status as a shape, so that it never rests on colour alone (and reads
// under deuteranopia, protanopia and forced colours): a tick, a half-filled
// circle, a cross, a barred circle. Drawn in currentColor; no text, so the
// accessible name of its button is only what is written.
import type { DayStatus } from '../api/types';

export function StatusIcon({ status, className = 'status-icon' }: { status: DayStatus; className?: string }) {
  return (
    <svg className={className} viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
      {status === 'available' && <path d="M3 8.5 6.5 12 13 4.5" fill="none" stroke="currentColor" strokeWidth="2.2" />}
      {status === 'limited' && (
        <>
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.8" />
          <path d="M8 2a6 6 0 0 1 0 12Z" fill="currentColor" />
        </>
      )}
      {status === 'full' && <path d="M3.5 3.5 12.5 12.5M12.5 3.5 3.5 12.5" stroke="currentColor" strokeWidth="2.2" />}
      {status === 'closed' && (
        <>
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.8" />
          <path d="M3.8 12.2 12.2 3.8" stroke="currentColor" strokeWidth="1.8" />
        </>
      )}
    </svg>
  );
}
