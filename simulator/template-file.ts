/**
 * A data template file named on the command line (`--template`): read and checked as the platform
 * checks it; a file that cannot be read or a malformed template is a UsageError naming the flag,
 * the file and the field.
 */
import { readInputFile, UsageError } from "./cli-errors";
import { parseTemplateText, TemplateError, type DataTemplate } from "./platform/thing-model/template";

export function loadTemplateFile(path: string, flag = "--template"): { text: string; template: DataTemplate } {
  const text = readInputFile(path, flag);
  try {
    return { text, template: parseTemplateText(text) };
  } catch (error) {
    if (error instanceof TemplateError) throw new UsageError(`${flag} ${path}: ${error.message} (${error.code})`);
    throw error;
  }
}
