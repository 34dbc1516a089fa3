/** The console's stylesheet and script (../assets/), and Chart.js from node_modules: served by this server, never from a CDN. */
import path from 'node:path';
import { Router } from 'express';

const ASSETS: Record<string, { file: () => string; type: string }> = {
  'console.css': { file: () => path.join(__dirname, '..', 'assets', 'console.css'), type: 'text/css' },
  'console.js': { file: () => path.join(__dirname, '..', 'assets', 'console.js'), type: 'text/javascript' },
  'chart.umd.js': { file: () => path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js'), type: 'text/javascript' },
};

export function assetRoutes(): Router {
  const router = Router();
  router.get('/assets/:file', (req, res) => {
    const asset = ASSETS[String(req.params.file)];
    if (!asset) return void res.status(404).type('text').send('not found');
    res.setHeader('Cache-Control', 'no-cache');
    res.type(asset.type).sendFile(asset.file());
  });
  return router;
}
