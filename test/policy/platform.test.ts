import type { IsolationType } from '../../shared/kernel/vocabulary';
import type { Machine } from '../../shared/mde/types';
import { isolationUnsupported } from '../../shared/policy/platform';
import { machineOf } from './builders';

// [platform fields, Full supported, Selective supported]
const CASES: [Partial<Machine>, boolean, boolean][] = [
  [{ osPlatform: 'Windows11', version: '23H2' }, true, true],
  [{ osPlatform: 'Windows10', version: '22H2' }, true, true],
  [{ osPlatform: 'Windows10', version: '1709' }, true, true],
  [{ osPlatform: 'Windows10', version: '1703' }, true, false],
  [{ osPlatform: 'Windows10', version: '1607' }, false, false],
  [{ osPlatform: 'Windows10', version: null, osBuild: 16299 }, true, true],
  [{ osPlatform: 'Windows10', version: null, osBuild: 15063 }, true, false],
  [{ osPlatform: 'Windows10', version: null, osBuild: 14393 }, false, false],
  [{ osPlatform: 'Windows10', version: null, osBuild: null }, true, true],
  [{ osPlatform: 'WindowsServer2012R2' }, true, true],
  [{ osPlatform: 'WindowsServer2012' }, false, false],
  [{ osPlatform: 'WindowsServer2008R2' }, false, false],
  [{ osPlatform: 'WindowsServer2022' }, true, true],
  [{ osPlatform: 'Linux' }, true, false],
  [{ osPlatform: 'Ubuntu' }, true, false],
  [{ osPlatform: 'macOS' }, true, true],
  [{ osPlatform: 'macOS', agentVersion: '101.98.84' }, true, true],
  [{ osPlatform: 'macOS', agentVersion: '101.25012.0007' }, true, true],
  [{ osPlatform: 'macOS', agentVersion: '101.98.83' }, false, false],
  [{ osPlatform: 'macOS', agentVersion: '101.9.99' }, false, false],
  [{ osPlatform: 'macOS', agentVersion: '100.99.1' }, false, false],
  [{ osPlatform: 'Windows10', version: '10.0.14393' }, false, false],
  [{ osPlatform: 'Windows10', version: '10.0.15063.0' }, true, false],
  [{ osPlatform: 'Windows10', version: '10.0.19045' }, true, true],
  [{ osPlatform: 'Windows10', version: 'unknown', osBuild: 14393 }, false, false],
  [{ osPlatform: null }, false, false],
  [{ osPlatform: 'Windows11', onboardingStatus: 'CanBeOnboarded' }, false, false],
  [{ osPlatform: 'Android' }, false, false],
  [{ osPlatform: 'Windows7' }, false, false],
  [{ osPlatform: 'iOS' }, false, false],
  [{ osPlatform: '' }, false, false],
  [{ osPlatform: 'Windows11', onboardingStatus: 'InsufficientInfo' }, false, false],
];

describe('isolationUnsupported', () => {
  it.each(CASES)('%o: Full %s, Selective %s', (fields, full, selective) => {
    const machine = machineOf({ version: null, osBuild: null, ...fields });
    const supported = (type: IsolationType) => isolationUnsupported(machine, type) === null;
    expect([supported('Full'), supported('Selective')]).toEqual([full, selective]);
  });

  it.each([
    ['CanBeOnboarded', true],
    ['InsufficientInfo', true],
    ['Unsupported', true],
    ['Onboarded', false],
    [undefined, false],
  ])('contains (UnManagedDevice) a device listed %s: %s, whatever its OS', (onboardingStatus, contained) => {
    const machine = machineOf({ osPlatform: null, version: null, osBuild: null, onboardingStatus });
    const why = isolationUnsupported(machine, 'UnManagedDevice');
    expect(why === null).toBe(contained);
    if (!contained) expect(why).toMatch(/contains only devices MDE lists as not onboarded/);
  });
});
