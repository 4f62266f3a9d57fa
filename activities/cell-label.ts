/** Node label naming the cell a node belongs to; cells are discovered from it. */
export const CELL_LABEL_KEY = 'barista.dev/cell';
export const NODE_TENANT_LABEL = 'barista.dev/tenant';
export const NODE_WORKSPACE_LABEL = 'barista.dev/workspace';
