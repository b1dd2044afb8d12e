/**
 * Errors of the mock's Cloud API, in Tencent's envelope:
 * `{"Response":{"Error":{"Code","Message"},"RequestId"}}` with HTTP 200, as Tencent answers.
 *
 * Every code is one Tencent publishes: the common codes of Cloud API 3.0 (the "Error Codes"
 * page of every product's API documentation) or IoT Explorer's own (tencentcloud-sdk-go,
 * iotexplorer/v20190423/errors.go). Which action answers which code is not published per
 * action in the SDKs; the choices are listed in simulator/platform/README.md.
 */
import type { TemplateErrorCode } from "../thing-model/template";

export type CloudApiErrorCode =
  // common codes of Cloud API 3.0
  | "AuthFailure.InvalidAuthorization" | "AuthFailure.SecretIdNotFound" | "AuthFailure.SignatureExpire"
  | "AuthFailure.SignatureFailure" | "AuthFailure.TokenFailure"
  | "InvalidAction" | "NoSuchVersion" | "MissingParameter" | "InvalidParameter" | "InvalidParameterValue"
  | "UnknownParameter" | "UnsupportedProtocol" | "UnsupportedRegion" | "UnsupportedOperation"
  | "RequestSizeLimitExceeded" | "RequestLimitExceeded" | "InternalError"
  // IoT Explorer's codes
  | "ResourceNotFound.ProductNotExist" | "ResourceNotFound.StudioProductNotExist" | "ResourceNotFound.DeviceNotExist"
  | "InvalidParameterValue.ProductAlreadyExist" | "InvalidParameterValue.DeviceAlreadyExist"
  | "InvalidParameterValue.DeviceNameInvalid" | "InvalidParameterValue.ProductIDInvalid"
  | "InvalidParameterValue.PayloadOverLimit"
  | "UnsupportedOperation.DevicesExistUnderProduct" | "UnauthorizedOperation.DeviceIsNotEnabled"
  | "FailedOperation.DeviceOffline" | "FailedOperation.DeviceNoSubscription" | "FailedOperation.Timeout"
  | "LimitExceeded.StudioProductExceedLimit"
  // data templates (issue 24)
  | TemplateErrorCode
  | "InvalidParameter.ActionInputParamsInvalid" | "InvalidParameterValue.ActionNilOrNotExist"
  // IoT Explorer's OTA codes (issue 22)
  | "InvalidParameterValue.FirmwareAlreadyExist" | "ResourceNotFound.FirmwareNotExist" | "ResourceNotFound.FirmwareTaskNotExist"
  | "ResourceNotFound.DeviceHasNoFirmware" | "ResourceNotFound.CannotGetFromUrl"
  | "FailedOperation.DeviceFirmwareIsUpdated" | "FailedOperation.DeviceInfoOutdated" | "FailedOperation.OtherUpdateTaskExist";

export class CloudApiError extends Error {
  constructor(readonly code: CloudApiErrorCode, message: string) {
    super(message);
    this.name = "CloudApiError";
  }
}

export function missingParameter(name: string): CloudApiError {
  return new CloudApiError("MissingParameter", `The request is missing a required parameter \`${name}\`.`);
}

export function invalidParameter(name: string, expected: string): CloudApiError {
  return new CloudApiError("InvalidParameter", `The parameter \`${name}\` must be ${expected}.`);
}

export function invalidParameterValue(name: string, rule: string): CloudApiError {
  return new CloudApiError("InvalidParameterValue", `The value of \`${name}\` is invalid: ${rule}.`);
}
