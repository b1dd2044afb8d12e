/**
 * Products' data templates between the registry (their JSON text) and the data plane (parsed):
 * every entry point (products.json, the Cloud API, the console) stores through `set`, which
 * refuses a malformed template before anything is written, so the product keeps its previous one.
 */
import type { Registry, StoredTemplate } from "../registry";
import { parseTemplateText, type DataTemplate } from "./template";

export class ProductTemplates {
  /** Parsed templates by product, kept while the stored text is the same string. */
  private readonly parsed = new Map<string, { text: string; template: DataTemplate }>();

  constructor(private readonly registry: Registry) {}

  /** The product's parsed template; undefined for a product without one (today's behaviour applies). */
  async get(productId: string): Promise<DataTemplate | undefined> {
    const stored = await this.registry.dataTemplate(productId);
    if (!stored) return undefined;
    const cached = this.parsed.get(productId);
    if (cached && cached.text === stored.text) return cached.template;
    let template: DataTemplate;
    try {
      template = parseTemplateText(stored.text);
    } catch {
      // Only a data folder written under other limits can hold one: the product is served as
      // without a template rather than failing every message of its devices.
      return undefined;
    }
    this.parsed.set(productId, { text: stored.text, template });
    return template;
  }

  /** The stored JSON text, as DescribeModelDefinition returns it. */
  async stored(productId: string): Promise<StoredTemplate | undefined> {
    return await this.registry.dataTemplate(productId);
  }

  /**
   * Validates and stores a template given as JSON text or as an object; throws TemplateError
   * (nothing stored) or RegistryError not-found.
   */
  async set(productId: string, source: string | object, now: number): Promise<DataTemplate> {
    const given = typeof source === "string" ? source : JSON.stringify(source);
    const template = parseTemplateText(given);
    // Kept compact: the text DescribeModelDefinition returns is the template as given, without its whitespace.
    const text = JSON.stringify(JSON.parse(given));
    await this.registry.setDataTemplate(productId, text, now);
    this.parsed.set(productId, { text: (await this.registry.dataTemplate(productId))!.text, template });
    return template;
  }
}
