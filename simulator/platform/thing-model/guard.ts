/**
 * The data plane's template checks (docs/PROTOCOL.md §13): what thing.ts asks before it keeps a
 * report or an event, answers an action_reply, or sends control or an action. A product without a
 * template passes everything, as before templates existed.
 */
import type { Registry } from "../registry";
import { ProductTemplates } from "./store";
import { checkControl, checkFields, checkReport, type Violation } from "./values";

/**
 * Tencent's answer to a report that does not fit the template: code 406, status
 * "checkReportData fail", observed in report_reply messages of the real platform (§13).
 */
export const REPORT_REFUSAL = { code: 406, status: "checkReportData fail" } as const;
/** Tencent's answer to an event the template does not define: 404, "<eventId> not defined" (observed, §13). */
export const UNDEFINED_EVENT_CODE = 404;
/** An event whose params do not fit: 406 with the fault in status (mock's own; Tencent's text is not published). */
export const EVENT_PARAMS_REFUSAL_CODE = 406;

/** A refusal for the device, in the reply's code and status; `detail` goes to the log. */
export interface DeviceRefusal {
  code: number;
  status: string;
  detail: string;
}

/** The Cloud API codes ControlDeviceData and CallDeviceActionSync answer a misfit with (§13). */
export type TemplateApiCode =
  | "InvalidParameterValue"
  | "InvalidParameterValue.ModelDefineEventPropNameError"
  | "InvalidParameterValue.ActionNilOrNotExist"
  | "InvalidParameter.ActionInputParamsInvalid";

/** A control or action call the template refuses; `code` is the data plane's "invalid". */
export class TemplateViolationError extends Error {
  readonly code = "invalid";
  constructor(readonly cloudApiCode: TemplateApiCode, readonly violation: Pick<Violation, "field" | "message"> & { kind: string }) {
    super(violation.message);
    this.name = "TemplateViolationError";
  }
}

export class TemplateGuard {
  private readonly templates: ProductTemplates;

  constructor(registry: Registry) {
    this.templates = new ProductTemplates(registry);
  }

  /** A report's params: refused whole (nothing kept) on the first misfit. */
  async report(productId: string, params: Record<string, unknown>): Promise<DeviceRefusal | undefined> {
    const template = await this.templates.get(productId);
    const fault = template && checkReport(template, params);
    return fault && { ...REPORT_REFUSAL, detail: fault.message };
  }

  /** One posted event: defined, and its params those of the template. */
  async event(productId: string, eventId: string, params: Record<string, unknown>): Promise<DeviceRefusal | undefined> {
    const template = await this.templates.get(productId);
    if (!template) return undefined;
    const event = template.event.get(eventId);
    if (!event) return { code: UNDEFINED_EVENT_CODE, status: `${eventId.slice(0, 64)} not defined`, detail: `event ${eventId.slice(0, 64)} is not defined in the data template` };
    const fault = checkFields(event.params, params);
    return fault && { code: EVENT_PARAMS_REFUSAL_CODE, status: fault.message, detail: fault.message };
  }

  /** An action_reply's response against the action's output; a misfit is only reported (§13). */
  async actionResponse(productId: string, actionId: string, response: Record<string, unknown>): Promise<Violation | undefined> {
    const action = (await this.templates.get(productId))?.action.get(actionId);
    return action && checkFields(action.output, response);
  }

  /** Throws TemplateViolationError for control the template refuses: unknown, read-only, wrong type or range. */
  async control(productId: string, params: Record<string, unknown>): Promise<void> {
    const template = await this.templates.get(productId);
    const fault = template && checkControl(template, params);
    if (!fault) return;
    throw new TemplateViolationError(fault.kind === "unknown" ? "InvalidParameterValue.ModelDefineEventPropNameError" : "InvalidParameterValue", fault);
  }

  /** Throws TemplateViolationError for an action the template does not define, or input that does not fit. */
  async actionCall(productId: string, actionId: string, params: Record<string, unknown>): Promise<void> {
    const template = await this.templates.get(productId);
    if (!template) return;
    const action = template.action.get(actionId);
    if (!action) {
      throw new TemplateViolationError("InvalidParameterValue.ActionNilOrNotExist",
        { kind: "unknown", field: actionId, message: `action ${actionId.slice(0, 64)} is not defined in the data template` });
    }
    const fault = checkFields(action.input, params);
    if (fault) throw new TemplateViolationError("InvalidParameter.ActionInputParamsInvalid", fault);
  }
}
