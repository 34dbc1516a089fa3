/** The tenant's policy (/console/policy): the current version, a draft checked against every user before it is saved, the difference between two versions. */
import { Router, type Request, type Response } from 'express';
import YAML from 'yaml';
import { ConfigRefusedError, configYaml, diffVersions, saveConfig, validateConfig, validateConfigOnline } from '../../admin/config';
import { previewTenant } from '../../admin/preview';
import { AdminError } from '../../admin/shared';
import { listConfigVersions } from '../../common/repositories/tenants';
import { CONSOLE_PATH, type Notice } from '../layout';
import { policyPage, type DraftCheck } from '../pages/policy';
import { takeNotice } from '../session';
import { caller, go, page, send, str, tenant, viewer, type ConsoleOptions } from './shared';

const parseDraft = (text: string): { config?: unknown; error?: string } => {
  try {
    return { config: YAML.parse(text) };
  } catch (err) {
    return { error: `The draft is not valid YAML or JSON: ${(err as Error).message}` };
  }
};

export function policyRoutes(options: ConsoleOptions): Router {
  const router = Router();
  const policyView = async (req: Request, res: Response, status: number, draft: string | undefined, check?: DraftCheck, notice?: Notice) => {
    const c = caller(req);
    const current = await configYaml(options, c, tenant(req), 'current');
    const versions = await listConfigVersions(options.db, tenant(req));
    const from = str(req.query.from);
    const to = str(req.query.to);
    const diff = from && to ? await diffVersions(options, c, tenant(req), from, to) : undefined;
    send(
      res,
      status,
      policyPage({
        viewer: viewer(req),
        current,
        versions,
        draft: draft ?? current.yaml,
        check,
        diff,
        diffFrom: from ?? String(Math.max(1, current.version - 1)),
        diffTo: to ?? String(current.version),
        notice: notice ?? takeNotice(req, res),
      }),
    );
  };
  router.get(
    '/policy',
    page((req, res) => policyView(req, res, 200, undefined)),
  );
  router.post(
    '/policy/check',
    page(async (req, res) => {
      const draft = str(req.body.draft) ?? '';
      const parsed = parseDraft(draft);
      if (parsed.error) return policyView(req, res, 400, draft, { problems: [], error: parsed.error });
      const v = await validateConfigOnline(options, tenant(req), parsed.config);
      const problems = v.details.map((p) => ({ path: p.path.join('.'), message: p.message }));
      const check: DraftCheck = { problems, warnings: v.warnings };
      if (v.valid) check.preview = await previewTenant(options, caller(req), tenant(req), { config: parsed.config }, 100);
      await policyView(req, res, v.valid ? 200 : 400, draft, check);
    }),
  );
  router.post(
    '/policy/save',
    page(async (req, res) => {
      const draft = str(req.body.draft) ?? '';
      const parsed = parseDraft(draft);
      if (parsed.error) return policyView(req, res, 400, draft, { problems: [], error: parsed.error });
      try {
        const saved = await saveConfig(options, caller(req), tenant(req), parsed.config);
        go(options, req, res, `${CONSOLE_PATH}/policy`, {
          kind: 'ok',
          text:
            `Saved version ${saved.version}. ${saved.usersCompared} users compared, ${saved.signalled} signalled to re-provision` +
            `${saved.summary.text.length ? `: ${saved.summary.text.slice(0, 3).join('; ')}` : ''}.` +
            `${saved.warnings.length ? ` ${saved.warnings.length} warning${saved.warnings.length === 1 ? '' : 's'}: ${saved.warnings.slice(0, 2).join('; ')}` : ''}`,
        });
      } catch (err) {
        if (err instanceof AdminError && err.status === 400) {
          // The document's own problems, or (it is valid) its connector's: a missing secret, a URL that does not answer.
          const details = err instanceof ConfigRefusedError ? err.details : validateConfig(parsed.config, options.senderPolicy).details;
          return policyView(req, res, 400, draft, { problems: details.map((p) => ({ path: p.path.join('.'), message: p.message })) });
        }
        throw err;
      }
    }),
  );
  return router;
}
