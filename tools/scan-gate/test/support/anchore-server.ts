import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A loopback stand-in for the Anchore API endpoints the gate calls. Response bodies follow Anchore's published
// specifications:
// - v2: "Anchore API" OpenAPI 3.0.1 document, info.version 2.14.0, shipped as
//   anchore/enterprise-client-go pkg/anchore-api-swagger-v5.23.0-release.yaml (Anchore Enterprise 5.23):
//   GET / (ping, returns "v2"), POST /images (ImageAnalysisRequest -> AnchoreImage), GET /images/{image_digest}
//   (AnchoreImage), GET /images/{image_digest}/check (PolicyEvaluation, 404 ApiErrorResponse),
//   GET /images/{image_digest}/vuln/{vuln_type} (ImagePackageVulnerabilityResponse), POST /registries
//   (RegistryConfigurationRequest; the gate reads only the status of the response).
// - v1: "Anchore Engine API Server" Swagger 2.0 document, info.version 0.1.14, anchore/anchore-engine
//   anchore_engine/services/apiext/swagger/swagger.yaml. It has the same routes with AnchoreImageList,
//   VulnerabilityResponse and PolicyEvaluationList. Its evaluation objects are untyped, so they follow
//   make_response_policyeval in anchore_engine/services/apiext/api/controllers/images.py and the way
//   anchore-cli reads detail.result.

/** A failure to inject before a route responds normally. */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number; message?: string }
  | { kind: 'reset' };

/** Which request a fault applies to. */
export type Route = 'ping' | 'add' | 'image' | 'check' | 'vuln' | 'registry';

/** Behaviour of the fake server. */
export interface AnchoreScenario {
  version: 'v1' | 'v2';
  user: string;
  password: string;
  digest: string;
  /** analysis_status returned by successive image reads; the last one repeats. */
  statuses: string[];
  /** Number of 404 responses from the policy check before it is ready. */
  checkNotReady?: number;
  finalAction: 'go' | 'warn' | 'stop';
  /** Vulnerability rows in the version's own field names. */
  vulnerabilities: Record<string, unknown>[];
  faults?: Partial<Record<Route, Fault[]>>;
  /** Registries that already exist, so POST returns 409. */
  existingRegistries?: string[];
}

/** A request the server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  route: Route | 'unknown';
  body: unknown;
  authorization?: string;
}

/** The running fake server. */
export interface AnchoreServer {
  url: string;
  requests: RecordedRequest[];
  count(route: Route): number;
  close(): Promise<void>;
}

const IMAGE_ID = 'e4c58958181a5925816faa528ce959e487632f4cfd192f8132f71b32df2744b4';

function routeOf(method: string, path: string, prefix: string): Route | 'unknown' {
  const rest = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
  if (rest === undefined) return 'unknown';
  if (method === 'GET' && (rest === '/' || rest === '')) return 'ping';
  if (method === 'POST' && rest === '/images') return 'add';
  if ((method === 'POST' || method === 'PUT') && rest.startsWith('/registries')) return 'registry';
  if (method === 'GET' && /^\/images\/[^/]+\/check$/.test(rest)) return 'check';
  if (method === 'GET' && /^\/images\/[^/]+\/vuln\/[^/]+$/.test(rest)) return 'vuln';
  if (method === 'GET' && /^\/images\/[^/]+$/.test(rest)) return 'image';
  return 'unknown';
}

function imageV2(scenario: AnchoreScenario, status: string, tag: string): Record<string, unknown> {
  const [repository = '', tagName = ''] = tag.split(/:(?=[^:/]+$)/);
  return {
    image_digest: scenario.digest,
    parent_digest: scenario.digest,
    account_name: 'admin',
    analysis_status: status,
    image_status: 'active',
    created_at: '2026-06-15T12:00:00Z',
    last_updated: '2026-06-15T12:00:00Z',
    annotations: {},
    record_version: 'v2',
    image_content: { metadata: { arch: 'amd64', distro: 'debian', distro_version: '12', layer_count: 3 } },
    image_detail: [
      {
        full_tag: tag,
        full_digest: `${repository}@${scenario.digest}`,
        registry: repository.split('/')[0],
        repo: repository.split('/').slice(1).join('/'),
        tag: tagName,
        image_digest: scenario.digest,
        image_id: IMAGE_ID,
        account_name: 'admin',
        created_at: '2026-06-15T12:00:00Z',
        last_updated: '2026-06-15T12:00:00Z',
        tag_detected_at: '2026-06-15T12:00:00Z',
      },
    ],
  };
}

function imageV1(scenario: AnchoreScenario, status: string, tag: string): Record<string, unknown>[] {
  const [repository = ''] = tag.split(/:(?=[^:/]+$)/);
  return [
    {
      imageDigest: scenario.digest,
      userId: 'admin',
      analysis_status: status,
      image_status: 'active',
      created_at: '2026-06-15T12:00:00Z',
      last_updated: '2026-06-15T12:00:00Z',
      annotations: {},
      image_content: {},
      image_detail: [
        {
          fulltag: tag,
          fulldigest: `${repository}@${scenario.digest}`,
          registry: repository.split('/')[0],
          repo: repository.split('/').slice(1).join('/'),
          imageDigest: scenario.digest,
          imageId: IMAGE_ID,
          userId: 'admin',
          dockerfile: null,
          created_at: '2026-06-15T12:00:00Z',
          last_updated: '2026-06-15T12:00:00Z',
        },
      ],
    },
  ];
}

function policyV2(scenario: AnchoreScenario, tag: string): Record<string, unknown> {
  const findings =
    scenario.finalAction === 'go'
      ? []
      : [
          {
            trigger_id: 'CVE-2024-0001+lodash',
            gate: 'vulnerabilities',
            trigger: 'package',
            message: 'CRITICAL Vulnerability found in non-os package type (npm) - lodash (CVE-2024-0001)',
            action: scenario.finalAction,
            policy_id: 'default-policy',
            recommendation: 'Upgrade lodash',
            rule_id: 'rule-1',
            allowlisted: false,
            allowlist_match: null,
            inherited_from_base: false,
          },
        ];
  return {
    policy_id: 'default-policy',
    image_digest: scenario.digest,
    evaluated_tag: tag,
    evaluations: [
      {
        details: {
          policy: { id: 'default-policy', name: 'Default', version: '2', rule_sets: [], mappings: [] },
          findings,
          policy_action: scenario.finalAction,
        },
        comparison_image_digest: null,
        evaluation_time: '2026-06-15T12:05:00Z',
        evaluation_problems: [],
        status: scenario.finalAction === 'stop' ? 'fail' : 'pass',
        final_action: scenario.finalAction,
        final_action_reason: 'policy_evaluation',
        image_allowlisted: false,
        image_denylisted: false,
        image_mapped_to_rule: true,
        number_of_findings: findings.length,
      },
    ],
  };
}

function policyV1(scenario: AnchoreScenario, tag: string): unknown[] {
  const header = [
    'Image_Id',
    'Repo_Tag',
    'Trigger_Id',
    'Gate',
    'Trigger',
    'Check_Output',
    'Gate_Action',
    'Whitelisted',
  ];
  const rows =
    scenario.finalAction === 'go'
      ? []
      : [
          [
            IMAGE_ID,
            tag,
            'CVE-2024-0001+lodash',
            'vulnerabilities',
            'package',
            'CRITICAL Vulnerability found in non-os package type (npm) - lodash (CVE-2024-0001)',
            scenario.finalAction,
            false,
          ],
        ];
  return [
    {
      [scenario.digest]: {
        [tag]: [
          {
            detail: {
              result: {
                final_action: scenario.finalAction,
                final_action_reason: 'policy_evaluation',
                image_id: IMAGE_ID,
                result: { [IMAGE_ID]: { result: { header, rows, final_action: scenario.finalAction } } },
              },
              policy: { id: 'default-bundle', version: '1_0', policies: [], mappings: [] },
            },
            last_evaluation: '2026-06-15T12:05:00Z',
            policyId: 'default-bundle',
            status: scenario.finalAction === 'stop' ? 'fail' : 'pass',
          },
        ],
      },
    },
  ];
}

/** Starts the fake Anchore server on 127.0.0.1 and a free port. */
export async function startAnchoreServer(scenario: AnchoreScenario): Promise<AnchoreServer> {
  const requests: RecordedRequest[] = [];
  const faults = new Map<Route, Fault[]>(
    Object.entries(scenario.faults ?? {}).map(([route, list]) => [route as Route, [...(list ?? [])]]),
  );
  const prefix = `/${scenario.version}`;
  let imageReads = 0;
  let checks = 0;
  let tag = 'registry.example.test/app:1.0.0';
  const expectedAuth = `Basic ${Buffer.from(`${scenario.user}:${scenario.password}`).toString('base64')}`;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      const route = routeOf(request.method ?? 'GET', url.pathname, prefix);
      requests.push({
        method: request.method ?? 'GET',
        path: `${url.pathname}${url.search}`,
        route,
        body,
        ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      });

      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(payload));
      };
      const apiError = (status: number, message: string, headers: Record<string, string> = {}) =>
        send(status, { code: status, error_type: 'Error', message, detail: {} }, headers);

      if (route === 'unknown') return apiError(404, `no route for ${request.method} ${url.pathname}`);
      if (route !== 'ping' && request.headers.authorization !== expectedAuth) {
        return apiError(401, 'Unauthorized');
      }
      const fault = faults.get(route)?.shift();
      if (fault?.kind === 'reset') {
        request.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        const headers: Record<string, string> =
          fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) };
        return apiError(fault.status, fault.message ?? `injected HTTP ${fault.status}`, headers);
      }

      const v2 = scenario.version === 'v2';
      switch (route) {
        case 'ping':
          return send(200, scenario.version);
        case 'add': {
          const source = (body as { source?: Record<string, Record<string, string>> })?.source ?? {};
          tag = source.tag?.pull_string ?? source.tag?.pullstring ?? source.digest?.tag ?? tag;
          const status = 'not_analyzed';
          return send(200, v2 ? imageV2(scenario, status, tag) : imageV1(scenario, status, tag));
        }
        case 'image': {
          const status = scenario.statuses[Math.min(imageReads, scenario.statuses.length - 1)] ?? 'analyzed';
          imageReads += 1;
          return send(200, v2 ? imageV2(scenario, status, tag) : imageV1(scenario, status, tag));
        }
        case 'check': {
          checks += 1;
          if (checks <= (scenario.checkNotReady ?? 0)) {
            return apiError(404, `image ${scenario.digest} has no policy evaluation yet`);
          }
          return send(200, v2 ? policyV2(scenario, tag) : policyV1(scenario, tag));
        }
        case 'vuln':
          return send(
            200,
            v2
              ? {
                  image_digest: scenario.digest,
                  vulnerability_type: 'all',
                  vulnerabilities: scenario.vulnerabilities,
                }
              : {
                  imageDigest: scenario.digest,
                  vulnerability_type: 'all',
                  vulnerabilities: scenario.vulnerabilities,
                },
          );
        case 'registry': {
          const registry = (body as { registry?: string })?.registry ?? '';
          if (request.method === 'POST' && scenario.existingRegistries?.includes(registry)) {
            return apiError(409, `registry ${registry} already exists`);
          }
          return send(200, [
            {
              registry,
              registry_user: (body as { registry_user?: string })?.registry_user,
              registry_type: 'docker_v2',
              registry_verify: true,
              created_at: '2026-06-15T12:00:00Z',
              last_updated: '2026-06-15T12:00:00Z',
            },
          ]);
        }
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (route) => requests.filter((r) => r.route === route).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Builds a vulnerability row as Anchore reports it (PackageVulnerability in v2, Vulnerability in v1). */
export function anchoreVulnerability(
  id: string,
  severity: string,
  packageName: string,
  version: string,
  fix: string,
): Record<string, unknown> {
  return {
    vuln: id,
    severity,
    package: `${packageName}-${version}`,
    package_name: packageName,
    package_version: version,
    package_type: 'npm',
    package_cpe: 'None',
    package_path: `/app/node_modules/${packageName}/package.json`,
    fix,
    url: `https://nvd.nist.gov/vuln/detail/${id}`,
    feed: 'vulnerabilities',
    feed_group: 'github:npm',
    nvd_data: [
      {
        id,
        cvss_v2: { base_score: -1, exploitability_score: -1, impact_score: -1 },
        cvss_v3: { base_score: 9.8, exploitability_score: 3.9, impact_score: 5.9 },
      },
    ],
    vendor_data: [],
    will_not_fix: false,
  };
}
