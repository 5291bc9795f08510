// The official `openai` npm SDK (https://github.com/openai/openai-node) as a client of Talon's
// OpenAI-compatible HTTP API (POST /v1/chat/completions, GET /v1/models). Run by run-openai-sdk.sh with
// a gateway whose agents answer through the mock model (mock-script.json: "conformance-ping" -> EXPECTED_TEXT).
//   node openai_sdk.mjs --base-url http://127.0.0.1:PORT/v1 --key TOKEN
// Prints one line per check; exits 1 when any check failed, 2 on bad usage.
import OpenAI from 'openai';

const EXPECTED_TEXT = 'pong from the mock model';  // mock-script.json, rule 1
const EXPECTED_USAGE = {
  prompt_tokens: 7,
  completion_tokens: 5
};

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      console.error(`usage: node openai_sdk.mjs --base-url URL --key TOKEN (bad argument ${argv[i]})`);
      process.exit(2);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  if (!out['base-url'] || !out.key) {
    console.error('usage: node openai_sdk.mjs --base-url URL --key TOKEN');
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const client = new OpenAI({baseURL: args['base-url'], apiKey: args.key, maxRetries: 0, timeout: 30_000});
const badClient = new OpenAI({baseURL: args['base-url'], apiKey: `${args.key}-wrong`, maxRetries: 0, timeout: 30_000});

const failures = [];
let passed = 0;

function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function show(v) { return JSON.stringify(v)?.slice(0, 600); }

async function check(name, fn) {
  try {
    const note = await fn();
    passed += 1;
    console.log(`ok    ${name}${note ? ` (${note})` : ''}`);
  } catch (err) {
    failures.push(name);
    const detail = err instanceof OpenAI.APIError ? `${err.constructor.name} status=${err.status} ${show(err.error)}` :
                                                    err?.stack ?? String(err);
    console.log(`FAIL  ${name}\n      ${String(detail).replaceAll('\n', '\n      ')}`);
  }
}

function checkUsage(usage, where) {
  assert(usage && typeof usage === 'object', `${where}: no usage object: ${show(usage)}`);
  assert(
      usage.prompt_tokens === EXPECTED_USAGE.prompt_tokens &&
          usage.completion_tokens === EXPECTED_USAGE.completion_tokens,
      `${where}: usage ${show(usage)}, expected the mock's ${show(EXPECTED_USAGE)}`);
  assert(
      usage.total_tokens === usage.prompt_tokens + usage.completion_tokens,
      `${where}: total_tokens is not the sum: ${show(usage)}`);
}

async function nonStreamed(model) {
  const c = await client.chat.completions.create(
      {model, messages: [{role: 'user', content: 'conformance-ping (non-streamed)'}]});
  assert(c.object === 'chat.completion', `object is ${show(c.object)}, expected "chat.completion"`);
  assert(typeof c.id === 'string' && c.id.length > 0, `id is ${show(c.id)}`);
  assert(Number.isInteger(c.created), `created is ${show(c.created)}`);
  assert(c.model === model, `model is ${show(c.model)}, expected ${show(model)}`);
  assert(Array.isArray(c.choices) && c.choices.length === 1, `choices: ${show(c.choices)}`);
  const choice = c.choices[0];
  assert(choice.index === 0, `choices[0].index is ${show(choice.index)}`);
  assert(choice.message?.role === 'assistant', `message.role is ${show(choice.message?.role)}`);
  assert(
      choice.message?.content === EXPECTED_TEXT,
      `message.content is ${show(choice.message?.content)}, expected ${show(EXPECTED_TEXT)}`);
  assert(choice.finish_reason === 'stop', `finish_reason is ${show(choice.finish_reason)}`);
  checkUsage(c.usage, 'usage');
  return `"${choice.message.content}"`;
}

async function streamed(model) {
  const stream = await client.chat.completions.create({
    model,
    messages: [{role: 'user', content: 'conformance-ping (streamed)'}],
    stream: true,
    stream_options: {include_usage: true},
  });
  let text = '';
  let contentChunks = 0;
  let finish = null;
  let usage = null;
  let ids = new Set();
  for await (const chunk of stream) {
    assert(chunk.object === 'chat.completion.chunk', `chunk.object is ${show(chunk.object)}`);
    ids.add(chunk.id);
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      assert(choice.index === 0, `chunk choice index ${show(choice.index)}`);
      if (typeof choice.delta?.content === 'string' && choice.delta.content.length > 0) {
        text += choice.delta.content;
        contentChunks += 1;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert(ids.size === 1, `chunks carry ${ids.size} different ids: ${show([...ids])}`);
  assert(text === EXPECTED_TEXT, `streamed text is ${show(text)}, expected ${show(EXPECTED_TEXT)}`);
  assert(finish === 'stop', `finish_reason is ${show(finish)}`);
  checkUsage(usage, 'usage chunk (stream_options.include_usage)');
  return `"${text}" in ${contentChunks} content chunks`;
}

async function streamHelper(model) {
  // The SDK's accumulating helper: it validates chunk shapes while it rebuilds the completion.
  const runner =
      client.chat.completions.stream({model, messages: [{role: 'user', content: 'conformance-ping (stream helper)'}]});
  const final = await runner.finalChatCompletion();
  assert(
      final.choices?.[0]?.message?.content === EXPECTED_TEXT,
      `final content is ${show(final.choices?.[0]?.message?.content)}`);
  assert(final.choices[0].finish_reason === 'stop', `finish_reason is ${show(final.choices[0].finish_reason)}`);
  return `"${final.choices[0].message.content}"`;
}

async function expectAuthError(what, fn) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert(err !== null, `${what} with a wrong key succeeded`);
  assert(
      err instanceof OpenAI.AuthenticationError,
      `${what}: expected OpenAI.AuthenticationError, got ${err?.constructor?.name} status=${err?.status} ${
          err?.message}`);
  assert(err.status === 401, `${what}: status ${err.status}`);
  return `401 ${err.constructor.name}: ${err.message}`;
}

await check('models.list lists openclaw/main and talon/main', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert(m.object === 'model', `model entry ${show(m)} has object ${show(m.object)}`);
    ids.push(m.id);
  }
  for (const want of ['openclaw/main', 'talon/main']) assert(ids.includes(want), `${want} missing from ${show(ids)}`);
  return ids.join(', ');
});

await check('models.retrieve openclaw/main', async () => {
  const m = await client.models.retrieve('openclaw/main');
  assert(m.id === 'openclaw/main', `id is ${show(m.id)}`);
  return m.id;
});

for (const model of ['openclaw/main', 'talon/main']) {
  await check(`chat.completions.create ${model} (non-streamed)`, () => nonStreamed(model));
  await check(`chat.completions.create ${model} (stream: true)`, () => streamed(model));
}
await check('chat.completions.stream helper openclaw/main', () => streamHelper('openclaw/main'));

// Client tools (OpenClaw's chat tool contract): the SDK's runTools() helper runs the whole loop — a
// get_weather call comes back as tool_calls, the helper runs the function and sends its result, and the
// agent answers (mock-script.json: "conformance-weather" -> a get_weather call, its result -> the answer).
async function clientToolsLoop(stream) {
  const calls = [];
  const runner = client.chat.completions.runTools({
    model: 'openclaw/main',
    user: `conformance-tools-${stream ? 'streamed' : 'whole'}`,
    messages: [{role: 'user', content: 'conformance-weather in Paris?'}],
    stream,
    tools: [{
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Current weather of a city',
        parameters: {type: 'object', properties: {city: {type: 'string'}}, required: ['city']},
        parse: JSON.parse,
        function: (args) => {
          calls.push(args);
          return 'conformance-18C and sunny';
        },
      },
    }],
  });
  const final = await runner.finalChatCompletion();
  assert(calls.length === 1 && calls[0].city === 'Paris', `get_weather ran with ${show(calls)}`);
  const content = final.choices?.[0]?.message?.content;
  assert(content === 'The SDK loop is done: 18 C.', `final content is ${show(content)}`);
  assert(final.choices[0].finish_reason === 'stop', `finish_reason is ${show(final.choices[0].finish_reason)}`);
  return `get_weather(${JSON.stringify(calls[0])}) then "${content}"`;
}
await check('chat.completions.runTools client tool loop (non-streamed)', () => clientToolsLoop(false));
await check('chat.completions.runTools client tool loop (stream: true)', () => clientToolsLoop(true));

await check(
    'wrong key: chat.completions.create -> 401 AuthenticationError',
    () => expectAuthError(
        'chat.completions.create',
        () => badClient.chat.completions.create(
            {model: 'openclaw/main', messages: [{role: 'user', content: 'conformance-ping'}]})));
await check(
    'wrong key: models.list -> 401 AuthenticationError',
    () => expectAuthError('models.list', () => badClient.models.list()));

console.log(`\n${passed} passed, ${failures.length} failed`);
if (failures.length > 0) {
  console.log(`failed: ${failures.join('; ')}`);
  process.exit(1);
}
