// Outside the Functions host, @azure/functions skips registration and warns once per function file;
// the warning is expected in every handler test and only hides real output.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('package is in test mode')) return;
  warn(...args);
};
