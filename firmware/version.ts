/** This firmware's version, sent as report_info's fw_ver (kept equal to package.json's by a test). */
export const FIRMWARE_VERSION = "0.1.0";
