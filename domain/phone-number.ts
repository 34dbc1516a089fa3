/**
 * Phone numbers as the application directory keeps them: E.164 (`+15550107777`), parsed with
 * libphonenumber-js and the tenant's default region (`phoneRegion`, default US) for numbers
 * written without a country code. Pure.
 *
 * "Usable" means the number parses as a whole (no surrounding words: `extract: false`) and has
 * a possible length for its country. Whether the range is assigned today (libphonenumber's
 * isValid) is not asked: that depends on metadata that ages, and the reserved 555-01xx numbers
 * of tests and demos would fail it.
 */
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export const DEFAULT_PHONE_REGION = 'US';

/** Whether `region` is an ISO 3166-1 alpha-2 code libphonenumber knows (upper case). */
export const isPhoneRegion = (region: string): boolean => isSupportedCountry(region);

export type PhoneParse = { ok: true; e164: string; extension?: string } | { ok: false; problem: string };

/** The number in E.164 (and its extension, which E.164 cannot hold), or why it is not usable. */
export function parsePhone(value: unknown, region: string = DEFAULT_PHONE_REGION): PhoneParse {
  if (typeof value !== 'string' || value.trim() === '') return { ok: false, problem: 'is empty' };
  // RFC 7643 §4.1.2 suggests RFC 3966 form ("tel:+1-201-555-0123"); its ";ext=" libphonenumber reads.
  const text = value.trim().replace(/^tel:/i, '');
  const defaultCountry = isSupportedCountry(region) ? (region as CountryCode) : (DEFAULT_PHONE_REGION as CountryCode);
  const parsed = parsePhoneNumberFromString(text, { defaultCountry, extract: false });
  if (!parsed) return { ok: false, problem: 'is not a phone number' };
  if (!parsed.isPossible()) {
    return {
      ok: false,
      problem: text.startsWith('+')
        ? `does not have a possible length for country code +${parsed.countryCallingCode}`
        : `does not have a possible length for region ${defaultCountry} (numbers of other countries start with + and the country code)`,
    };
  }
  return { ok: true, e164: parsed.number, ...(parsed.ext ? { extension: parsed.ext } : {}) };
}

/** The number as the directory stores an informational phone: E.164, with `;ext=` (RFC 3966) when it has an extension. */
export const storedPhone = (p: { e164: string; extension?: string }): string => (p.extension ? `${p.e164};ext=${p.extension}` : p.e164);
