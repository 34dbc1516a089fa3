/** Sign-in, error and confirmation pages. */
import { html, type Html } from '../html';
import { CONSOLE_PATH, csrfField, page, type Viewer } from '../layout';

export function signInPage(options: { error?: string; next?: string }): Html {
  return page({
    title: 'Sign in',
    notice: options.error ? { kind: 'error', text: options.error } : undefined,
    body: html`<section class="narrow">
      <h1>Sign in to the scimflow console</h1>
      <form method="post" action="${CONSOLE_PATH}/sign-in" class="stack">
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required aria-describedby="token-help" />
        <p id="token-help" class="help">
          An admin token of your tenant (<code>sfa_…</code>). The operator creates one beside the running stack with
          <code>npm run tokens -- create --tenant demo --name me --admin --role "Super User"</code>; any other role reads only.
        </p>
        ${options.next ? html`<input type="hidden" name="next" value="${options.next}" />` : ''}
        <button type="submit">Sign in</button>
      </form>
      <p class="help">The token is exchanged for a session cookie of this browser and is not kept in it. Revoking the token ends the session.</p>
    </section>`,
  });
}

export function errorPage(viewer: Viewer | undefined, status: number, message: string): Html {
  const title =
    status === 403
      ? 'Not allowed'
      : status === 404
        ? 'Not found'
        : status === 409
          ? 'Not possible now'
          : status >= 500
            ? 'Something went wrong'
            : 'Request refused';
  return page({
    title,
    viewer,
    body: html`<h1>${title}</h1>
      <p class="notice error" role="alert">${message}</p>
      <p><a href="${CONSOLE_PATH}">Back to the overview</a></p>`,
  });
}

/** A confirmation step before an action: GET shows it and changes nothing; its form posts the action. */
export function confirmPage(options: {
  viewer: Viewer;
  active: string;
  title: string;
  explain: Html | string;
  action: string;
  confirmLabel: string;
  cancelHref: string;
  danger?: boolean;
  /** Values the form posts with the confirmation (what exactly was confirmed). */
  hidden?: Record<string, string>;
}): Html {
  return page({
    title: options.title,
    viewer: options.viewer,
    active: options.active,
    body: html`<section class="narrow">
      <h1>${options.title}</h1>
      <p>${options.explain}</p>
      <form method="post" action="${options.action}" class="actions">
        ${csrfField(options.viewer)}${Object.entries(options.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}
        <button type="submit" class="${options.danger ? 'danger' : ''}">${options.confirmLabel}</button>
        <a href="${options.cancelHref}">Cancel</a>
      </form>
    </section>`,
  });
}
