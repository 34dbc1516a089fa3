import { html, trusted } from './html';

describe('html', () => {
  test('when data is interpolated, then markup in it is escaped, also inside attributes', () => {
    const name = '<img src=x onerror=alert(1)> & "quoted" \'single\'';
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot; &#39;single&#39;">&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot; &#39;single&#39;</p>',
    );
  });

  test('when fragments, lists and empty values are interpolated, then fragments stay markup and null, undefined and false render nothing', () => {
    const items = ['a<b', 'c'].map((x) => html`<li>${x}</li>`);
    // prettier-ignore
    const out = html`<ul>${items}</ul>${null}${undefined}${false}${0}${trusted('<hr>')}`;
    expect(out.value).toBe('<ul><li>a&lt;b</li><li>c</li></ul>0<hr>');
  });
});
