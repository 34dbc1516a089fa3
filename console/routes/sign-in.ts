/** Sign-in (an admin token exchanged for a session) and sign-out; the only pages without a session. */
import { Router } from 'express';
import { CONSOLE_PATH } from '../layout';
import { signInPage } from '../pages/basic';
import { requireCsrf, requireSession, signInHandler, signOut } from '../session';
import { send, str, type ConsoleOptions } from './shared';

/** Where to go after signing in: a console page, never another site. */
const safeNext = (v: unknown) => {
  const s = str(v);
  return s && s.startsWith(`${CONSOLE_PATH}`) && !s.startsWith('//') && !s.includes('\\') ? s : CONSOLE_PATH;
};

export function signInRoutes(options: ConsoleOptions): Router {
  const router = Router();
  const sessions = { db: options.db, publicUrl: options.publicUrl };
  const signIn = signInHandler({ ...sessions, failures: options.failures });
  router.get('/sign-in', (req, res) => {
    if (req.consoleSession) return void res.redirect(303, safeNext(req.query.next));
    send(res, 200, signInPage({ next: str(req.query.next) }));
  });
  router.post('/sign-in', async (req, res, next) => {
    try {
      const result = await signIn(req, res);
      if (result.ok) return void res.redirect(303, safeNext(req.body?.next));
      send(res, result.status, signInPage({ error: result.message, next: str(req.body?.next) }));
    } catch (err) {
      next(err);
    }
  });
  router.post('/sign-out', requireSession, requireCsrf, async (req, res, next) => {
    try {
      await signOut(sessions, req, res);
      res.redirect(303, `${CONSOLE_PATH}/sign-in`);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
