import { renderTemplate, type TemplateInput } from '../../../local/api/vtl';
import { escapeJavaScript, urlDecode, urlEncode } from '../../../local/api/vtl-util';

// Expected values follow the examples of "Variables for data transformations for API Gateway" and "Examples using
// variables for mapping template transformations for API Gateway" (docs.aws.amazon.com/apigateway).
function input(overrides: Partial<TemplateInput> = {}): TemplateInput {
  return {
    body: '',
    params: { path: {}, querystring: {}, header: {} },
    context: {},
    stageVariables: {},
    ...overrides,
  };
}

describe('renderTemplate', () => {
  it('returns the raw body for $input.body', () => {
    expect(renderTemplate('$input.body', input({ body: '{"a": 1}' }))).toBe('{"a": 1}');
  });

  it('returns JSON for $input.json', () => {
    const body = JSON.stringify({ store: { book: [{ title: 'Moby Dick' }] } });
    expect(renderTemplate("$input.json('$.store.book[0]')", input({ body }))).toBe('{"title":"Moby Dick"}');
  });

  it('returns an object for $input.path', () => {
    const body = JSON.stringify({ Items: [{ Id: { S: 'a' } }, { Id: { S: 'b' } }] });
    const template = "#foreach($item in $input.path('$.Items'))$item.Id.S#if($foreach.hasNext),#end#end";
    expect(renderTemplate(template, input({ body }))).toBe('a,b');
  });

  it('reads an empty body as an empty object', () => {
    expect(renderTemplate("$input.json('$')", input())).toBe('{}');
  });

  it('rejects a body that is not JSON', () => {
    expect(() => renderTemplate("$input.json('$')", input({ body: 'not json' }))).toThrow(
      /Could not parse request body into json/,
    );
  });

  it('searches params in path, query string, then header', () => {
    const params = {
      path: { id: 'from-path' },
      querystring: { id: 'from-query', q: 'x' },
      header: { Q: 'h', Auth: 't' },
    };
    expect(
      renderTemplate("$input.params('id') $input.params('q') $input.params('auth')", input({ params })),
    ).toBe('from-path x t');
  });

  it('returns an empty string for a missing param', () => {
    expect(renderTemplate("[$input.params('none')]", input())).toBe('[]');
  });

  it('lists params by location', () => {
    const params = { path: { id: '1' }, querystring: {}, header: { Accept: '*/*' } };
    const template =
      "#set($all = $input.params())#foreach($type in $all.keySet())$type;#end $all.get('header').get('Accept')";
    expect(renderTemplate(template, input({ params }))).toBe('path;querystring;header; */*');
  });

  it('renders $context and $stageVariables', () => {
    const context = {
      stage: 'prod',
      requestId: 'abcdefg-000-000-0000-abcdefg',
      identity: { sourceIp: '192.0.2.1' },
    };
    const template = '$context.stage $context.requestId $context.identity.sourceIp $stageVariables.color';
    expect(renderTemplate(template, input({ context, stageVariables: { color: 'blue' } }))).toBe(
      'prod abcdefg-000-000-0000-abcdefg 192.0.2.1 blue',
    );
  });

  it('parses JSON with $util.parseJson', () => {
    expect(renderTemplate('$util.parseJson(\'{"name":"Ann"}\').name', input())).toBe('Ann');
  });

  it('applies Java replaceAll to an escaped quote', () => {
    const template = '$util.escapeJavaScript($input.params(\'name\')).replaceAll("\\\\\'", "\'")';
    const params = { path: {}, querystring: { name: "O'Brien" }, header: {} };
    expect(renderTemplate(template, input({ params }))).toBe("O'Brien");
  });

  it('sets responseOverride on $context', () => {
    const context: Record<string, unknown> = { responseOverride: { header: {} } };
    renderTemplate('#set($context.responseOverride.status = 404)', input({ context }));
    expect((context.responseOverride as { status: unknown }).status).toBe(404);
  });
});

describe('escapeJavaScript', () => {
  it("escapes a single quote as \\'", () => {
    expect(escapeJavaScript("It's")).toBe("It\\'s");
  });

  it('escapes double quotes, backslashes and slashes', () => {
    expect(escapeJavaScript('a"b\\c/d')).toBe('a\\"b\\\\c\\/d');
  });

  it('escapes control characters', () => {
    expect(escapeJavaScript('a\nb\tc\u0001')).toBe('a\\nb\\tc\\u0001');
  });

  it('escapes non-ASCII as upper-case \\u', () => {
    expect(escapeJavaScript('café €')).toBe('caf\\u00E9 \\u20AC');
  });
});

describe('urlEncode', () => {
  it('encodes a space as a plus sign', () => {
    expect(urlEncode('a b&c=d/é')).toBe('a+b%26c%3Dd%2F%C3%A9');
  });

  it('decodes a plus sign as a space', () => {
    expect(urlDecode('a+b%26c')).toBe('a b&c');
  });
});

describe('base64', () => {
  it('encodes and decodes UTF-8', () => {
    expect(renderTemplate("$util.base64Encode('héllo') $util.base64Decode('aGVsbG8=')", input())).toBe(
      'aMOpbGxv hello',
    );
  });
});
