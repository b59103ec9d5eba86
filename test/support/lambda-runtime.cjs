// A stand-in for Lambda's Node.js runtime, enough to show what it does with a stray rejection:
// it loads the bundle with require(), runs invocations one after another on the same instance,
// each with a context whose deadline is its own, and treats an unhandled rejection or uncaught
// exception as Lambda does (the invocation in flight fails, the instance exits).
// Usage: node lambda-runtime.cjs <bundle.cjs> <invocations JSON: [{event, remainingMs, pauseAfterMs}]>
const [bundle, plan] = process.argv.slice(2);
const { handler } = require(bundle);
const invocations = JSON.parse(plan);
let inFlight = 'none';
const crash = (kind) => (error) => {
  process.stdout.write(`${JSON.stringify({ crash: kind, during: inFlight, error: String(error?.message) })}\n`);
  process.exit(129);
};
process.on('unhandledRejection', crash('Runtime.UnhandledPromiseRejection'));
process.on('uncaughtException', crash('Runtime.UncaughtException'));

const context = (remainingMs) => {
  const deadline = Date.now() + remainingMs;
  return {
    awsRequestId: `req-${inFlight}`,
    functionName: 'bundle',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
};

(async () => {
  for (const [index, { event, remainingMs, pauseAfterMs }] of invocations.entries()) {
    inFlight = String(index);
    const reply = await handler(event, context(remainingMs));
    process.stdout.write(`${JSON.stringify({ index, reply })}\n`);
    inFlight = 'none';
    if (pauseAfterMs) await new Promise((resolve) => setTimeout(resolve, pauseAfterMs));
  }
})();
