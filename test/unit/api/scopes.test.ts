import { API_SCOPES, isApiScope, scopeAllows, scopesOfClaims } from '../../../src/api';

describe('scopes', () => {
  it.each([
    [['admin'], 'trunks:write', true],
    [['admin'], 'calls:read', true],
    [['numbers:write'], 'numbers:read', true],
    [['numbers:write'], 'numbers:write', true],
    [['numbers:read'], 'numbers:write', false],
    [['numbers:read'], 'numbers:read', true],
    [['trunks:write'], 'numbers:read', false],
    [['calls:read', 'sms:write'], 'sms:read', true],
    [[], 'calls:read', false],
    [['numbers:write'], 'admin', false],
  ] as const)('%j satisfies %s: %s', (granted, required, expected) => {
    expect(scopeAllows(new Set(granted), required)).toBe(expected);
  });

  it('reads space-separated scope strings and arrays in scope or scp', () => {
    expect([...scopesOfClaims({ scope: 'a  b c' })]).toEqual(['a', 'b', 'c']);
    expect([...scopesOfClaims({ scope: ['a', 'b', 3] })]).toEqual(['a', 'b']);
    expect([...scopesOfClaims({ scp: 'x', scope: 'y' })].sort()).toEqual(['x', 'y']);
    expect([...scopesOfClaims({})]).toEqual([]);
  });

  it('knows the documented scopes', () => {
    for (const s of ['calls:read', 'calls:write', 'numbers:write', 'trunks:write', 'sms:write', 'admin']) expect(isApiScope(s)).toBe(true);
    expect(isApiScope('root')).toBe(false);
    expect(API_SCOPES).toContain('config:read');
  });
});
