// Keep Enhanced/Supported HPA annotations, map them to the classes, add UniProt sequences.
process CURATE_HPA {
    tag "${locations.name}"
    label 'process_low'

    input:
    path locations                           // subcellular_location.tsv[.gz]
    path uniprot, stageAs: 'uniprot/*'       // UniProt entries that carry the sequences

    output:
    path 'hpa.parquet', emit: proteins
    tuple val("${task.process}"), val('locflow'), eval('locflow --version | sed "s/^locflow //"'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow curate-hpa --locations ${locations} --uniprot ${uniprot} --out hpa.parquet ${args}
    """

    stub:
    """
    touch hpa.parquet
    """
}
