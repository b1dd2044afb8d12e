/** The core's URL splitter (firmware/url.ts), which Moddable's `http` Request also needs. */
export { parseHttpUrl, parseMqttUrl, type Endpoint } from "../../firmware/url";
