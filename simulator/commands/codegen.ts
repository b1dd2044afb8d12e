/**
 * `explorer-xs codegen --template FILE --out DIR`: a TypeScript module from a product's data
 * template (simulator/codegen/template-codegen.ts), for firmware and apps to import. A template
 * the platform would refuse is refused here too, naming the field.
 */
import type { Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileProblem, UsageError } from "../cli-errors";

export function register(program: Command): void {
  program
    .command("codegen")
    .description("write a TypeScript module (types, handlers, runtime checks) from a data template")
    .requiredOption("--template <file>", "the data template JSON, as the console exports it")
    .requiredOption("--out <dir>", "the folder to write into (created if missing)")
    .addHelpText("after", `
Writes <dir>/data-template.generated.ts: the Properties interface (ranges and units in comments),
PropertyReport and PropertyControl, the Events and Actions signatures, and checkReport,
checkEvent, parseControl, parseActionInput, checkActionOutput, controlHandler, actionHandler:
the checks the platform makes, made on the device before it sends. No imports; runs on Node and XS.`)
    .action(async (options: { template: string; out: string }) => {
      const [{ loadTemplateFile }, { generateTemplateModule, GENERATED_FILE }] = await Promise.all([
        import("../template-file"), import("../codegen/template-codegen"),
      ]);
      const { template } = loadTemplateFile(options.template);
      const file = join(options.out, GENERATED_FILE);
      try {
        mkdirSync(options.out, { recursive: true });
        writeFileSync(file, generateTemplateModule(template, basename(options.template)));
      } catch (error) {
        throw new UsageError(`--out ${options.out}: cannot write ${GENERATED_FILE} (${fileProblem(error)})`);
      }
      process.stdout.write(`wrote ${file}: ${template.properties.length} properties, ${template.events.length} events, ${template.actions.length} actions\n`);
    });
}
