/**
 * The comparison key of a userName: two userNames with the same key are the same userName
 * (RFC 7643 §4.1.1: unique within the tenant; `caseExact` false). The key applies the
 * UsernameCaseMapped profile's mapping rules of RFC 8265 §3.3.1, in its order:
 *
 *   1. width mapping: fullwidth and halfwidth characters become their decomposition
 *      (`ｆｕｌｌ` → `full`, halfwidth katakana → katakana, U+3000 → space);
 *   2. (no additional mapping);
 *   3. case mapping: Unicode toLowerCase;
 *   4. normalisation: NFC (`café` written as e + U+0301 → é);
 *
 * and trims the spaces around the name, which IdPs add by accident (" ann@x.org"). The
 * userName itself is stored as sent; only the key is compared. Pure.
 */

/** Characters with a <wide> or <narrow> decomposition (UnicodeData.txt): U+3000 and the Halfwidth and Fullwidth Forms block. */
const WIDTH_MAPPED = /[\u3000\uFF01-\uFFEE]/g;

export function userNameKey(userName: string): string {
  const widthMapped = userName.replace(WIDTH_MAPPED, (c) => c.normalize('NFKC'));
  return widthMapped.trim().toLowerCase().normalize('NFC');
}
