// Focus after a failed submit goes to the first problem, never to <body>.

/** Moves focus to the first problem in a form, after React has drawn it. */
export function focusFirstProblem(form: HTMLElement | null): void {
  requestAnimationFrame(() => {
    const target = form?.querySelector<HTMLElement>('[aria-invalid="true"], [role="alert"]');
    if (target && !target.matches('input, select, textarea, button, [tabindex]')) target.tabIndex = -1;
    target?.focus();
  });
}
