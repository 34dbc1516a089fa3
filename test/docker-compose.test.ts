/**
 * Consistency of the container stack with the code: docker-compose.yml, the Dockerfile and
 * .env.example must agree with what common/config.ts reads, with the npm scripts, and with
 * the Temporal search attributes the workflows set. Static: no Docker needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../common/config';
import { SEARCH_ATTRIBUTES } from '../common/temporal/constants';
import { TEMPORAL_SERVER_VERSION } from '../dev/temporal-server';

const root = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

type Json = Record<string, unknown>;
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { published?: string | number; target?: number; host_ip?: string })[];
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; configs?: Record<string, { content?: string }> } & Json;
const services = compose.services;
const serviceNames = Object.keys(services);
const appServices = ['scim-server', 'worker'] as const;

/** Names passed to str/int/bool/duration/url in loadConfig: every variable the processes read. */
function configVariableNames(): Set<string> {
  const source = read('common/config.ts');
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:str|int|bool|duration|boundedDuration|secret|url)\(\s*'([A-Z][A-Z0-9_]*)'/g)) names.add(m[1]);
  return names;
}

/** Compose interpolation as it applies when `.env` is absent: `${VAR:-default}` and `${VAR-default}` give the default. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_all, name: string, def: string | undefined) => {
      if (def === undefined) throw new Error(`\${${name}} has no default: the stack would depend on the caller's environment`);
      return def;
    })
    .replace(/\$\$/g, '$');
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  const entries: [string, string][] = Array.isArray(env)
    ? env.map((line) => {
        const i = line.indexOf('=');
        return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v)]));
}

function dependenciesOf(service: Service): string[] {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps) ? deps : Object.keys(deps);
}

/** Published ports: "8080:8080", "127.0.0.1:8025:8025", long syntax; `port` is the host side. */
function publishedPorts(service: Service): { hostIp: string; port: number; target: number }[] {
  return (service.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') {
      return p.published === undefined ? [] : [{ hostIp: p.host_ip ?? '0.0.0.0', port: Number(p.published), target: Number(p.target) }];
    }
    const parts = interpolate(String(p))
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    if (parts.length === 1) return []; // container port only: Docker picks a random host port
    const hostIp = parts.length === 3 ? parts[0] : '0.0.0.0';
    return [{ hostIp, port: Number(parts[parts.length - 2]), target: Number(parts[parts.length - 1]) }];
  });
}

const hostOfAddress = (address: string) => address.replace(/:\d+$/, '');

describe('docker-compose.yml', () => {
  it('when parsed, then it has the expected services', () => {
    expect(serviceNames).toEqual(expect.arrayContaining(['postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'mailpit', 'scim-server', 'worker']));
  });

  it('when a service is read, then it has an image or a build', () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, hasImageOrBuild: Boolean(service.image || service.build) }).toEqual({ name, hasImageOrBuild: true });
    }
  });

  it('when the app services are built, then they build from "." with a Dockerfile that exists', () => {
    for (const name of appServices) {
      const build = services[name].build;
      const context = typeof build === 'string' ? build : build?.context;
      const dockerfile = (typeof build === 'object' && build.dockerfile) || 'Dockerfile';
      expect({ name, context }).toEqual({ name, context: '.' });
      expect(fs.existsSync(path.join(root, context ?? '.', dockerfile))).toBe(true);
    }
  });

  it('when the worker starts, then it runs the compiled worker (`npm run worker:prod`), and the SCIM server the image default, the compiled server', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const command = services.worker.command;
    expect(Array.isArray(command) ? command.join(' ') : command).toBe(scripts['worker:prod']);
    expect(scripts['worker:prod']).toBe('node dist/worker/main.js');
    expect(services['scim-server'].command).toBeUndefined();
    expect(read('Dockerfile')).toMatch(/^CMD \["node", "dist\/scim-server\/main\.js"\]$/m);
    expect(scripts['scim-server:prod']).toBe('node dist/scim-server/main.js');
    // Each compiled entry point is the output of a source file.
    for (const name of ['scim-server:prod', 'worker:prod', 'tokens:prod', 'tenant-config:prod', 'catalogue-check:prod']) {
      const source = (/dist\/(\S+)\.js$/.exec(scripts[name])?.[1] ?? name) + '.ts';
      expect({ name, exists: fs.existsSync(path.join(root, source)) }).toEqual({ name, exists: true });
    }
  });

  it('when an app service sets a variable, then common/config.ts reads it', () => {
    const known = configVariableNames();
    expect(known.size).toBeGreaterThan(15); // the regex still finds the reads
    for (const name of appServices) {
      const unknown = Object.keys(environmentOf(services[name])).filter((v) => !known.has(v));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
    }
  });

  it('when loadConfig gets an app service environment, then it accepts it and points at the stack', () => {
    for (const name of appServices) {
      const env = environmentOf(services[name]);
      const config = loadConfig(env);
      expect(config.host).toBe('0.0.0.0');
      expect(config.databaseUrl).toBeDefined();
      expect(config.temporal.address).toBeDefined();
      expect(config.smtpUrl).toBeDefined();
    }
  });

  it('when the app connects, then DATABASE_URL, TEMPORAL_ADDRESS and SMTP_URL name services of this file', () => {
    for (const name of appServices) {
      const env = environmentOf(services[name]);
      expect(serviceNames).toContain(new URL(env.DATABASE_URL).hostname);
      expect(serviceNames).toContain(hostOfAddress(env.TEMPORAL_ADDRESS));
      expect(serviceNames).toContain(new URL(env.SMTP_URL).hostname);
      expect(dependenciesOf(services[name])).toContain(new URL(env.DATABASE_URL).hostname);
    }
  });

  it('when ports are published, then no two services take the same host port', () => {
    const seen = new Map<number, string>();
    for (const [name, service] of Object.entries(services)) {
      for (const { port } of publishedPorts(service)) {
        expect({ port, takenBy: seen.get(port) }).toEqual({ port, takenBy: undefined });
        seen.set(port, name);
      }
    }
    expect(seen.size).toBeGreaterThan(0);
  });

  it('when a service depends on another, then that service exists', () => {
    for (const [name, service] of Object.entries(services)) {
      const missing = dependenciesOf(service).filter((d) => !serviceNames.includes(d));
      expect({ name, missing }).toEqual({ name, missing: [] });
    }
  });

  it('when a service mounts a config, then the config is declared', () => {
    const declared = Object.keys(compose.configs ?? {});
    for (const [name, service] of Object.entries(services)) {
      const used = ((service as Json).configs as ({ source: string } | string)[] | undefined) ?? [];
      const missing = used.map((c) => (typeof c === 'string' ? c : c.source)).filter((c) => !declared.includes(c));
      expect({ name, missing }).toEqual({ name, missing: [] });
    }
  });

  it('when the SCIM server is published, then its port, PUBLIC_URL and the UI codec endpoint agree', () => {
    const [published] = publishedPorts(services['scim-server']);
    const config = loadConfig(environmentOf(services['scim-server']));
    expect(published.target).toBe(config.port);
    const publicUrl = new URL(config.publicUrl);
    expect(Number(publicUrl.port || (publicUrl.protocol === 'https:' ? 443 : 80))).toBe(published.port);
    // The browser calls the codec endpoint, so it is the published address, not scim-server:8080.
    const codec = new URL(environmentOf(services['temporal-ui']).TEMPORAL_CODEC_ENDPOINT);
    expect(Number(codec.port)).toBe(published.port);
    expect(codec.pathname).toBe('/codec');
  });

  it('when PAYLOAD_KEYS is set, then the codec settings reach both processes and admit the UI origin', () => {
    const [uiPort] = publishedPorts(services['temporal-ui']);
    for (const name of appServices) {
      const env = environmentOf(services[name]);
      expect(Object.keys(env)).toEqual(expect.arrayContaining(['CODEC_AUTH', 'CODEC_CORS_ORIGINS', 'PAYLOAD_KEYS']));
      const config = loadConfig(env);
      expect(config.codecAuth).toBe('token');
      expect(config.codecCorsOrigins).toContain(`http://localhost:${uiPort.port}`);
    }
  });

  it('when images are pulled, then each names a version, and the Temporal server is the one test:cluster builds', () => {
    for (const [name, service] of Object.entries(services)) {
      const image = (service as Json).image as string | undefined;
      if (!image) continue;
      expect({ name, image: interpolate(image) }).toEqual({ name, image: expect.stringMatching(/:v?\d+(\.\d+)*$/) });
    }
    expect(interpolate(services.temporal.image as string)).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    expect(interpolate(services['temporal-schema'].image as string)).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
  });

  it('when Temporal is set up, then the namespace and search attributes match what the app uses', () => {
    const admin = environmentOf(services['temporal-admin-tools']);
    expect(admin.NAMESPACE).toBe(loadConfig(environmentOf(services.worker)).temporal.namespace);
    expect(hostOfAddress(admin.TEMPORAL_ADDRESS)).toBe('temporal');
    const script = interpolate(compose.configs?.['temporal-namespace-setup']?.content ?? '');
    for (const key of SEARCH_ATTRIBUTES) {
      expect(key.type).toBe('KEYWORD');
      expect(script).toContain(`--name ${key.name} --type Keyword`);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('when the image is built, then its build stage gets every folder `npm run build` compiles and the runtime stage the compiled app', () => {
    // The folders tsconfig.build.json compiles: tsconfig.json's, less the build's exclusions.
    const included = (JSON.parse(read('tsconfig.json')) as { include: string[] }).include;
    const excluded = (JSON.parse(read('tsconfig.build.json')) as { exclude: string[] }).exclude;
    const compiled = included.filter((folder) => !excluded.includes(folder));
    expect(compiled).toEqual(expect.arrayContaining(['common', 'scim-server', 'worker', 'cli', 'dev']));
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#') && !line.startsWith('!'));
    expect(compiled.filter((folder) => ignored.includes(folder))).toEqual([]);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-slim AS build$/m);
    expect(dockerfile).toMatch(/^COPY \. \.$/m);
    expect(dockerfile).toMatch(/npm run build \\\n && npm run build:workflows -- \/app\/dist\/workflows\.js/);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(dockerfile).toMatch(/^ENV WORKFLOW_BUNDLE_PATH=\/app\/dist\/workflows\.js$/m);
  });

  it('when the image is built, then it installs production dependencies only, without tsx, and runs as a non-root user', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-slim AS runtime$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
  });
});

describe('.env.example', () => {
  it('when read, then it documents every variable common/config.ts reads', () => {
    const example = read('.env.example');
    const undocumented = [...configVariableNames()].filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example));
    expect(undocumented).toEqual([]);
  });
});
