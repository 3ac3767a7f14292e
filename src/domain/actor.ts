/** Who is acting: the Teams tenant (the partner organisation, or a customer's) and the person. */
export interface Actor {
  tenantId: string;
  userId: string;
  name: string;
}
