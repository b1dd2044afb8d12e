/** The bridge runtime alone: the baseline the other XS programs' sizes are measured against. */
import { installCommandHandler } from "./runtime";

installCommandHandler();
