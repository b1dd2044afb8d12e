/** An XS program holding only the record store: sealing and NVS layout, without the network. */
import { exposeRecordStore } from "./expose-store";
import { installCommandHandler } from "./runtime";

exposeRecordStore();
installCommandHandler();
