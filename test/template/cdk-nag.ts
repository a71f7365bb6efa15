import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, type CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { CloudFormationTemplate } from './compiled-template';

/** The name cdk-nag's AwsSolutions pack reports under in CDK's validation report. */
const AWS_SOLUTIONS_PLUGIN = 'AwsSolutions';

/** One suppression in a resource's `Metadata.cdk_nag.rules_to_suppress`, in cdk-nag's v2 format. */
export interface NagSuppression {
  id: string;
  reason: string;
  /** Finding details the suppression covers, such as `Resource::arn:...` for one IAM5 wildcard. */
  applies_to?: string[];
}

/** A rule's finding on one resource. `ruleId` carries the finding detail in brackets where the rule gives one. */
export interface NagFinding {
  ruleId: string;
  logicalId: string;
  severity: string;
  description: string;
}

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{
      ruleName: string;
      description: string;
      severity: string;
      violatingConstructs: Array<{ constructPath: string }>;
    }>;
  }>;
}

/** Reads the suppressions a template resource carries in its metadata. */
export function suppressionsOf(template: CloudFormationTemplate, logicalId: string): NagSuppression[] {
  const metadata = template.Resources[logicalId]?.Metadata as
    | { cdk_nag?: { rules_to_suppress?: NagSuppression[] } }
    | undefined;
  return metadata?.cdk_nag?.rules_to_suppress ?? [];
}

/**
 * Expands a suppression into the rule ids cdk-nag 3 acknowledges: the bare id, or one `ID[detail]` per entry of
 * `applies_to`, because cdk-nag 3 matches a granular finding such as `AwsSolutions-IAM5[Resource::*]` only by its
 * full id.
 */
export function acknowledgedIds(suppression: NagSuppression): string[] {
  const details = suppression.applies_to ?? [];
  return details.length === 0 ? [suppression.id] : details.map((detail) => `${suppression.id}[${detail}]`);
}

/**
 * Runs cdk-nag's AwsSolutions checks on a compiled template: the template is included into a CDK app with
 * CfnInclude, each resource's `cdk_nag` metadata suppressions are acknowledged on its construct, and the checks run
 * as a validation plugin during `app.synth()`. `extraSuppressions` adds suppressions by logical id on top of the
 * template's own. Returns the findings that no suppression covers.
 */
export function runAwsSolutionsChecks(
  templatePath: string,
  extraSuppressions: Record<string, NagSuppression[]> = {},
): NagFinding[] {
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as CloudFormationTemplate;
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-nag-'));
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Checked');
    const included = new CfnInclude(stack, 'Template', { templateFile: templatePath });

    for (const logicalId of Object.keys(template.Resources)) {
      const suppressions = [...suppressionsOf(template, logicalId), ...(extraSuppressions[logicalId] ?? [])];
      const construct: CfnResource = included.getResource(logicalId);
      for (const suppression of suppressions) {
        for (const id of acknowledgedIds(suppression)) {
          Validations.of(construct).acknowledge({ id, reason: suppression.reason });
        }
      }
    }

    Validations.of(app).addPlugins(new AwsSolutionsChecks());
    // synth throws ValidationFailed when any plugin reports a finding, and prints the whole report with
    // console.error. The report file lists the same findings in a structured form, so the printout is dropped.
    const printError = console.error;
    console.error = () => {};
    try {
      app.synth();
    } catch (error) {
      if ((error as Error).name !== 'ValidationFailed') throw error;
    } finally {
      console.error = printError;
    }

    // CDK writes the report only when a plugin reported something.
    const reportPath = path.join(outdir, 'validation-report.json');
    if (!existsSync(reportPath)) return [];
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as ValidationReport;
    return report.pluginReports
      .filter((plugin) => plugin.pluginName === AWS_SOLUTIONS_PLUGIN)
      .flatMap((plugin) => plugin.violations)
      .flatMap((violation) =>
        violation.violatingConstructs.map((construct) => ({
          ruleId: violation.ruleName,
          // Construct paths are `Checked/Template/<logical id>`.
          logicalId: construct.constructPath.split('/').pop() ?? construct.constructPath,
          severity: violation.severity,
          description: violation.description,
        })),
      );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
