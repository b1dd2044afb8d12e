/**
 * Data template actions of iotexplorer 2019-04-23: ModifyModelDefinition (ModelSchema, the
 * template's JSON text) and DescribeModelDefinition (Model: ProductModelDefinition), with the
 * fields of the SDK's models. A malformed template is refused with the ModelDefine* code Tencent
 * publishes for the fault, and the product keeps its previous template (docs/PROTOCOL.md §13).
 * DescribeStudioProduct's ProductEntry has no template field in the SDK's models, so it returns none.
 */
import { ProductTemplates } from "../thing-model/store";
import { TemplateError } from "../thing-model/template";
import { type Action, seconds } from "./context";
import { CloudApiError } from "./errors";
import { string } from "./params";
import { recordManagement, requireProduct } from "./product-actions";

/**
 * What DescribeModelDefinition returns for a product never given a template (mock's own: every
 * product on Tencent starts with one from its category, which the mock does not have).
 */
function emptyTemplate(productId: string): string {
  return JSON.stringify({ version: "1.0", profile: { ProductId: productId }, properties: [], events: [], actions: [] });
}

const modifyModelDefinition: Action = {
  schema: { ProductId: string(true), ModelSchema: string(true) },
  async run(params, context) {
    const product = await requireProduct(context.registry, params.ProductId as string, "ResourceNotFound.StudioProductNotExist");
    try {
      await new ProductTemplates(context.registry).set(product.productId, params.ModelSchema as string, context.now());
    } catch (error) {
      if (error instanceof TemplateError) throw new CloudApiError(error.code, `The data template is invalid: ${error.message}.`);
      throw error;
    }
    recordManagement(context, "ModifyModelDefinition", product.productId);
    return {};
  },
};

const describeModelDefinition: Action = {
  schema: { ProductId: string(true) },
  async run(params, { registry }) {
    const product = await requireProduct(registry, params.ProductId as string, "ResourceNotFound.StudioProductNotExist");
    const stored = await new ProductTemplates(registry).stored(product.productId);
    return {
      Model: {
        ProductId: product.productId,
        ModelDefine: stored?.text ?? emptyTemplate(product.productId),
        UpdateTime: seconds(stored?.updatedAt ?? product.createdAt),
        CreateTime: seconds(stored?.createdAt ?? product.createdAt),
        // The category's and the network type's models are Tencent's own; the mock has none (mock's own: empty).
        CategoryModel: "{}",
        NetTypeModel: "{}",
      },
    };
  },
};

export const MODEL_ACTIONS: Readonly<Record<string, Action>> = {
  ModifyModelDefinition: modifyModelDefinition,
  DescribeModelDefinition: describeModelDefinition,
};
