/** The identity providers' set-up guides (/console/guides/:name), rendered from docs/ (absent in the container image: the page says so). */
import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import MarkdownIt from 'markdown-it';
import { AdminError } from '../../admin/shared';
import { html, trusted } from '../html';
import { GUIDES, guidePage } from '../pages/connection';
import { page, send, viewer, type ConsoleOptions } from './shared';

const markdown = new MarkdownIt({ html: false, linkify: false });

export function guideRoutes(options: ConsoleOptions): Router {
  const router = Router();
  const docsDir = options.docsDir ?? path.join(__dirname, '..', '..', 'docs');
  router.get(
    '/guides/:name',
    page(async (req, res) => {
      const guide = GUIDES[String(req.params.name)];
      if (!guide) throw new AdminError(404, 'no such guide');
      const file = path.join(docsDir, guide.file);
      const body = fs.existsSync(file)
        ? trusted(markdown.render(fs.readFileSync(file, 'utf8'))) // the project's own documentation; raw HTML in it stays escaped
        : html`<h1>${guide.title}</h1>
            <p>The guide is not part of this installation; it is <code>docs/${guide.file}</code> in scimflow's source.</p>`;
      send(res, 200, guidePage(viewer(req), guide.title, body));
    }),
  );
  return router;
}
