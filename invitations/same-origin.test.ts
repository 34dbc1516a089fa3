import { sameOriginPost } from './routes';

const ORIGINS = ['https://scim.example.org'];
const post = (origin: string | undefined, fetchSite: string | undefined) => sameOriginPost({ origin, fetchSite, host: undefined, protocol: 'https' }, ORIGINS);

describe('which invitation POSTs count as coming from the page itself', () => {
  test('when a browser sends this origin (with or without Fetch Metadata), then it is the page', () => {
    expect(post('https://scim.example.org', 'same-origin')).toBe(true);
    expect(post('https://scim.example.org', undefined)).toBe(true); // browsers before Fetch Metadata
  });

  test('when the Origin is hidden ("null" or absent) but the browser says same-origin, then it is the page', () => {
    expect(post('null', 'same-origin')).toBe(true);
    expect(post(undefined, 'same-origin')).toBe(true);
  });

  test('when the browser says cross-site or same-site, or the Origin is another site, then it is refused', () => {
    expect(post('https://evil.example', 'cross-site')).toBe(false);
    expect(post('null', 'cross-site')).toBe(false);
    expect(post('https://scim.example.org', 'same-site')).toBe(false);
    expect(post('https://evil.example', undefined)).toBe(false);
    expect(post('https://scim.example.org', 'cross-site')).toBe(false);
  });

  test('when neither header is sent (a script or scanner outside a browser), or the Origin is "null" alone, then it is refused', () => {
    expect(post(undefined, undefined)).toBe(false);
    expect(post('null', undefined)).toBe(false);
    expect(post(undefined, 'none')).toBe(false);
  });
});
