/**
 * Breaks CI logging commands inside printed text, so that a finding, a policy message or an archive entry name
 * cannot drive the pipeline that runs the gate. The Azure Pipelines agent executes `##vso[` anywhere in a line,
 * the GitHub runner executes `##[` anywhere and `::` at the start of a line after white space, and both end a
 * line at LF, CR or CRLF. Line breaks become LF, and a backslash goes in front of each command's `[` or leading
 * `:`, which leaves the text readable.
 */
export function neutralizeRunnerCommands(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/##(vso)?\[/gi, (match) => `${match.slice(0, -1)}\\[`)
    .replace(/^([^\S\n]*):(?=:)/gm, '$1\\:');
}
