/** Last segment of an ARM id or URL path (`.../Incidents/<guid>` → `<guid>`), a trailing `/` ignored. */
export function lastSegment(value: string | undefined): string | undefined {
  return value?.split('/').filter(Boolean).pop();
}
