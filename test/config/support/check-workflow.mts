/**
 * Prints, as JSON, the errors that GitHub's own workflow parser (@actions/workflow-parser) finds in a workflow file.
 * Run with `node --import tsx`: the parser is an ES module that imports its JSON schema without an import
 * attribute, which Node.js 20 rejects but tsx's loader accepts, and jest's CommonJS runtime cannot load it at all.
 */
import { readFileSync } from 'node:fs';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: check-workflow.mts WORKFLOW_FILE');
  const result = parseWorkflow(
    { name: file, content: readFileSync(file, 'utf8') },
    new NoOperationTraceWriter(),
  );
  const errors = result.context.errors.getErrors().map((error) => error.message);
  if (result.value !== undefined) {
    const template = await convertWorkflowTemplate(result.context, result.value);
    errors.push(...(template.errors ?? []).map((error) => error.Message));
  }
  process.stdout.write(JSON.stringify({ errors: [...new Set(errors)] }));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
