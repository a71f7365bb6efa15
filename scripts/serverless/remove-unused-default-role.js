// Serverless plugin: drops the framework's shared Lambda role when no resource uses it any more.
//
// serverless-iam-roles-per-function (3.2.0) gives every function its own role but copies it from the shared
// `IamRoleLambdaExecution`, which it leaves in the template. An unused role still grants log access to every
// function's log group, and cfn-lint flags it (W3005). The check runs just before the template is saved, after
// the framework has merged the `resources:` section, so a reference from any resource or output keeps the role.

const DEFAULT_ROLE_LOGICAL_ID = 'IamRoleLambdaExecution';

/** Returns whether `node` refers to `logicalId` through Ref, Fn::GetAtt, Fn::Sub or DependsOn. */
function references(node, logicalId) {
  if (Array.isArray(node)) return node.some((item) => references(item, logicalId));
  if (node === null || typeof node !== 'object') return false;

  for (const [key, value] of Object.entries(node)) {
    if (key === 'Ref' && value === logicalId) return true;
    if (key === 'Fn::GetAtt') {
      const target = Array.isArray(value) ? value[0] : String(value).split('.')[0];
      if (target === logicalId) return true;
    }
    if (key === 'Fn::Sub') {
      const template = Array.isArray(value) ? value[0] : value;
      if (typeof template === 'string' && new RegExp(`\\$\\{${logicalId}[.}]`).test(template)) return true;
    }
    if (key === 'DependsOn' && [value].flat().includes(logicalId)) return true;
    if (references(value, logicalId)) return true;
  }
  return false;
}

class RemoveUnusedDefaultRolePlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      'before:aws:package:finalize:saveServiceState': () => this.removeUnusedDefaultRole(),
    };
  }

  removeUnusedDefaultRole() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources ?? {};
    if (resources[DEFAULT_ROLE_LOGICAL_ID] === undefined) return;

    const { [DEFAULT_ROLE_LOGICAL_ID]: _defaultRole, ...others } = resources;
    if (references({ Resources: others, Outputs: template.Outputs ?? {} }, DEFAULT_ROLE_LOGICAL_ID)) {
      this.log.verbose(`Keeping ${DEFAULT_ROLE_LOGICAL_ID}: the template still refers to it`);
      return;
    }
    delete resources[DEFAULT_ROLE_LOGICAL_ID];
    this.log.verbose(`Removed ${DEFAULT_ROLE_LOGICAL_ID}: every function has a role of its own`);
  }
}

module.exports = RemoveUnusedDefaultRolePlugin;
