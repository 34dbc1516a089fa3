import { parsePhone, storedPhone } from './phone-number';

describe('parsePhone', () => {
  test.each([
    ['+1 555 010 7777', 'US', '+15550107777'],
    ['+15550107777', 'US', '+15550107777'],
    ['(555) 010-7777', 'US', '+15550107777'],
    ['555.010.7777', 'US', '+15550107777'],
    ['tel:+1-201-555-0123', 'US', '+12015550123'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+44 20 7946 0958', 'US', '+442079460958'],
  ])('when %j is read in region %s, then it is %s in E.164', (value, region, e164) => {
    expect(parsePhone(value, region)).toEqual({ ok: true, e164 });
  });

  test('when a number has an extension, then it is kept apart from the E.164 number', () => {
    const parsed = parsePhone('+1 201 555 0123 ext. 12', 'US');
    expect(parsed).toEqual({ ok: true, e164: '+12015550123', extension: '12' });
    expect(parsed.ok && storedPhone(parsed)).toBe('+12015550123;ext=12');
  });

  test.each([
    ['call me maybe', /is not a phone number/],
    ['call 555-010-7777 now', /is not a phone number/],
    ['+1 555 0100', /possible length for country code \+1/],
    ['12', /possible length for region US/],
    ['', /is empty/],
  ])('when %j is read, then it is not usable: %s', (value, problem) => {
    const parsed = parsePhone(value, 'US');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toMatch(problem);
  });
});
