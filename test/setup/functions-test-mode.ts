// Outside the Functions host, @azure/functions switches to test mode and skips registration, warning
// each time; the warnings are expected in every handler test and only hide real output.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  const first = args[0];
  if (typeof first === 'string' && first.includes('@azure/functions') && first.includes('test mode')) return;
  warn(...args);
};
